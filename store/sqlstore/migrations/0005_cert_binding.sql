-- gatehouse schema, version 5: certificate-bound access tokens (RFC 8705),
-- the SHA-256 thumbprint of the client certificate (empty = not bound).
ALTER TABLE tokens ADD COLUMN cert_thumbprint TEXT NOT NULL DEFAULT '';
