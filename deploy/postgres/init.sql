-- One database and one login role per service; each role owns its database and nothing else.
-- Run with psql, passing the passwords as psql variables (deploy/postgres/init.sh does this on the first start of the
-- postgres container; on a managed server run it once by hand):
--   psql -v ON_ERROR_STOP=1 -v catalogue_password=... -v intake_password=... -v digitisation_password=... \
--        -v payments_password=... -v reporting_password=... -f deploy/postgres/init.sql
-- The role owns its database, so the migrations (run as the same role) can create tables in its `public` schema
-- (PostgreSQL 15 grants CREATE on `public` to the database owner only).

CREATE ROLE catalogue LOGIN PASSWORD :'catalogue_password';
CREATE DATABASE catalogue OWNER catalogue ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE catalogue FROM PUBLIC;

CREATE ROLE intake LOGIN PASSWORD :'intake_password';
CREATE DATABASE intake OWNER intake ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE intake FROM PUBLIC;

CREATE ROLE digitisation LOGIN PASSWORD :'digitisation_password';
CREATE DATABASE digitisation OWNER digitisation ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE digitisation FROM PUBLIC;

CREATE ROLE payments LOGIN PASSWORD :'payments_password';
CREATE DATABASE payments OWNER payments ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE payments FROM PUBLIC;

CREATE ROLE reporting LOGIN PASSWORD :'reporting_password';
CREATE DATABASE reporting OWNER reporting ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE reporting FROM PUBLIC;
