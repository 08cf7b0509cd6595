#!/usr/bin/env bash
# docker-compose.yml's init-folders: run as root, once per `docker compose up`, before airflow-init.
# Gives the containers' user (critmin, uid 50000) the folders it writes, so a user only runs
# `mkdir -p landing backups`:
#
#   --own DIR...    volumes (the home, the serving folder, the task logs): owned by uid 50000,
#                   with everything in them (the --share folders inside are left alone).
#   --share DIR...  folders bind-mounted from the host (landing/, backups/): they stay the host
#                   user's, and ACLs give uid 50000 and the folder's owner read and write on them,
#                   on everything in them and (default ACLs) on what is created in them later, so
#                   a month folder made and filled on the host can have refused files moved out.
#                   A folder moved in from elsewhere keeps its own permissions: `docker compose up
#                   -d` (this script again) fixes them. On a file system without ACLs the folder
#                   is given to uid 50000 instead.
set -euo pipefail
uid=50000
own=() share=() list=
for arg in "$@"; do
    case $arg in
        --own) list=own ;;
        --share) list=share ;;
        *)
            [[ $list ]] || { echo "usage: $0 --own DIR... --share DIR..." >&2; exit 2; }
            if [[ $list == own ]]; then own+=("$arg"); else share+=("$arg"); fi
            ;;
    esac
done

prune=()
for folder in "${share[@]}"; do
    prune+=(-path "$folder" -prune -o)
done
for folder in "${own[@]}"; do
    mkdir -p "$folder"
    find "$folder" "${prune[@]}" \! -user "$uid" -exec chown -h "$uid:$uid" {} +
    echo "$folder: owned by uid $uid"
done

for folder in "${share[@]}"; do
    mkdir -p "$folder"
    owner=$(stat -c %u "$folder")
    entries="u:$uid:rwX,u:$owner:rwX"
    if setfacl -R -P -m "$entries" "$folder" 2>/dev/null \
        && find "$folder" -type d -exec setfacl -d -m "$entries" {} + 2>/dev/null; then
        echo "$folder: owner uid $owner, shared with uid $uid (ACLs)"
    else
        chown -R -h "$uid" "$folder"
        echo "$folder: no ACLs on this file system, given to uid $uid (write into it as root or uid $uid)"
    fi
done
