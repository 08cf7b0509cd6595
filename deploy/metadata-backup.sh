#!/usr/bin/env bash
# docker-compose.yml's metadata-backup: before airflow-init migrates Airflow's metadata database
# (at every `docker compose up`), a pg_dump of it into FOLDER (backups/metadata/ on the host), in
# PostgreSQL's custom format, owned like backups/ itself. It runs in the postgres image, so pg_dump
# is the server's own version. A database without tables (the first start) has nothing to keep.
# The newest KEEP dumps (default 10) are kept. A failed dump fails the service, and so the start:
# nothing is migrated without a backup.
#
# Restore (README "Deploying"): stop the Airflow services, then
#   docker compose exec -T postgres pg_restore --clean --if-exists -U airflow -d airflow < backups/metadata/airflow-....dump
# Connection: PGHOST, PGUSER, PGDATABASE, PGPASSWORD from the environment.
set -euo pipefail
folder=${1:?usage: metadata-backup.sh FOLDER}
keep=${KEEP:-10}

tables=$(psql --no-psqlrc --tuples-only --no-align \
    --command "select count(*) from pg_catalog.pg_tables where schemaname = 'public'")
if [[ $tables == 0 ]]; then
    echo "Airflow's database has no tables yet: nothing to back up"
    exit 0
fi

mkdir -p "$folder"
chmod 700 "$folder"
umask 077
dump="$folder/airflow-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --file="$dump.partial"
mv "$dump.partial" "$dump"
chmod 600 "$dump"  # a default ACL on backups/ (init-folders) would otherwise override the umask
# The host user who made backups/ owns the dumps (this runs as root in the container).
chown --reference="$(dirname "$folder")" "$folder" "$dump" \
    || echo "could not give $dump the owner of $(dirname "$folder")" >&2
echo "backed up Airflow's database ($tables tables) to $dump"

find "$folder" -maxdepth 1 -name 'airflow-*.dump' -printf '%f\n' | sort -r | tail -n +"$((keep + 1))" \
    | while read -r old; do rm -f -- "$folder/$old" && echo "removed the older $old"; done
