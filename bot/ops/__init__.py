"""Operations: logging setup, metrics, the /healthz and /metrics server, report and backup."""
