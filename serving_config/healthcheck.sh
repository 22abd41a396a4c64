#!/usr/bin/env bash
# TF Serving health check for its container, which has bash but no curl.
# Healthy only when every model named in models.config has a version in state
# AVAILABLE: the status URL answers 200 while a model is still loading, so the
# check reads the state. Uses bash's /dev/tcp against the REST port.
#   healthcheck.sh [models.config] [rest port]
set -u
config=${1:-/config/models.config}
port=${2:-8501}
models=$(sed -n 's/^[[:space:]]*name:[[:space:]]*"\([^"]*\)".*/\1/p' "$config")
[ -n "$models" ] || { echo "no models in $config"; exit 1; }
for model in $models; do
  exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo "REST port $port closed"; exit 1; }
  printf 'GET /v1/models/%s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$model" >&3
  reply=$(cat <&3)
  exec 3<&- 3>&-
  if ! grep -q '"state": *"AVAILABLE"' <<<"$reply"; then
    echo "model $model is not AVAILABLE"
    exit 1
  fi
done
echo "all models AVAILABLE: $models"
