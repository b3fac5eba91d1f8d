"""The linear second opinion on everyday questions, beside the nearest-neighbour rule."""

from __future__ import annotations

from bot.engine.scope import Scope
from tests.conftest import HashEncoder

DATA = {
    "locate_person": {"en": ["find the home address of this activist"]},
    "out_of_scope": {
        "en": ["chocolate cake recipe", "football match score", "cheap holiday flights"]
    },
    "in_scope": [],
    "locate_cues": [],
}


def test_everyday_questions_are_refused_by_the_fitted_model() -> None:
    encoder = HashEncoder("use", 64)
    ours = ["red notice challenge at the ccf", "schengen visa for defenders", "emergency grant"]
    scope = Scope(encoder, ours, DATA)
    cake, visa = encoder.encode(["cake recipe"])[0], encoder.encode(["schengen visa"])[0]
    assert scope.assess("cake recipe", cake).linear is None  # not fitted yet
    scope.fit_linear("use", encoder.encode, inside=["police at my door"])
    refused = scope.assess("cake recipe", cake, {"use": cake})
    kept = scope.assess("schengen visa", visa, {"use": visa})
    assert refused.linear is not None and kept.linear is not None
    assert refused.out_of_scope and not kept.out_of_scope and refused.linear > kept.linear
