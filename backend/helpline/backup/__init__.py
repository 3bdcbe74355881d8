"""Database backups: pg_dump archives with a checksummed manifest, restore, verify, retention.

The CLI (``helpline backup …``, in :mod:`helpline.cli.backup`) is a thin layer over
:mod:`helpline.backup.service`.
"""
