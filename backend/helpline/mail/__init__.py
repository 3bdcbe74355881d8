"""The email channel (DESIGN §16): parsing, threading, composing, SMTP and IMAP (pure core), and
the mailboxes, ingestion, processing and outbox built on it."""
