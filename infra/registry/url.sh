#!/usr/bin/env bash
# Prints the registry's Confluent-compatible URL when it answers, nothing otherwise.
source "$(dirname "$0")/../env.sh"
url="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
if curl -sf -o /dev/null "$url/subjects" 2>/dev/null; then echo "$url"; fi
