"""Verification of e-certificates: QR tokens (tokens.py), the public page (page.py, controllers.py)."""
