"""The fold: consumed events into reporting's projections — the consumer handler (``handlers``), each dossier's
ledger (``ledger``) and fact (``facts``), and the writes (``repository``). Events reach the fold with applicants
and document holders already pseudonymised (the contract's v2; older records are upcast with the deployment's keys)."""
