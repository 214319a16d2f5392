-- Run once by the postgres image on an empty data directory (docker-compose.yml): the handoff database next to
-- the conversations' one (POSTGRES_DB), both owned by the same user.
CREATE DATABASE ris3_handoff;
