"""The deployment test: nginx in front of three replicas on PostgreSQL and Redis (`make deploy-test`)."""
