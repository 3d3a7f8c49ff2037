"""The fold: consumed events into reporting's projections — the consumer handler (``handlers``), each dossier's
ledger (``ledger``) and fact (``facts``), identity codes pseudonymised (``pseudonym``), and the writes
(``repository``)."""
