"""E-certificates: rendering (render.py), QR drawing (qr.py), PAdES signing (signing.py), issuing (services.py)."""
