"""One module per benchmark of issue 6 (B0–B6); each has ``run(ctx) -> Section``."""
