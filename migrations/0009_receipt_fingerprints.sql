-- An op id (an Idempotency-Key) names one request: the receipt keeps a hash of
-- the change it was for, and the same id sent with another change is refused
-- (409) instead of being answered with the first outcome. Older receipts have
-- none and are answered as before.
ALTER TABLE op_receipts ADD COLUMN fingerprint TEXT;
