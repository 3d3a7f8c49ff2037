"""The leaders' dashboard: server-rendered pages over the reports (reports.service) and a few dashboard queries."""
