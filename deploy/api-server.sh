#!/usr/bin/env bash
# Airflow's api-server with the login set from the environment (CRITMIN_ADMIN_USER and
# CRITMIN_ADMIN_PASSWORD, from .env): SimpleAuthManager takes its users from
# AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS and their passwords from the JSON file written here,
# so a recreated container keeps the same login instead of generating a new password.
set -euo pipefail
: "${CRITMIN_ADMIN_USER:?set CRITMIN_ADMIN_USER in .env}"
: "${CRITMIN_ADMIN_PASSWORD:?set CRITMIN_ADMIN_PASSWORD in .env}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?see deploy/airflow.env}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${CRITMIN_ADMIN_USER}:admin"
umask 077
python3 -c 'import json, os, sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump({os.environ["CRITMIN_ADMIN_USER"]: os.environ["CRITMIN_ADMIN_PASSWORD"]}, f)' \
    "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
unset CRITMIN_ADMIN_PASSWORD
exec airflow api-server "$@"
