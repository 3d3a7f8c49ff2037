"""Plans as data: the rules a plan document must follow (``rules``), the seed plans shipped beside this module
(``*.json``) and their loader (``loader``; ``python -m services.reporting.plans``), the use cases that store a plan
and publish ``PlanLoaded`` (``service``), their queries (``repository``) and the ``/plans`` endpoints (``router``)."""
