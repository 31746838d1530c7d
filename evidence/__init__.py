"""Evidence capture (Playwright), web archives, custody log, signing, timestamps and packs."""
