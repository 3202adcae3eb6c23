"""Privacy at rest: the retention purges (``services``), the key check and rotation of the encrypted columns
(``keys``) and their operator commands (``commands``: ``python -m bff purge`` and ``python -m bff reencrypt``)."""
