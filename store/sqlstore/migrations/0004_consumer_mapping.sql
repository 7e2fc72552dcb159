-- gatehouse schema, version 4: a consumer's own user mapping
-- (stores.Consumer.Mapping, empty for the authenticator's setting).
ALTER TABLE consumers ADD COLUMN mapping TEXT NOT NULL DEFAULT '';
