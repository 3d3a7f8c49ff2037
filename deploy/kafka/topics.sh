#!/usr/bin/env bash
# Create motcua's topics with the partitions and retention of docs/events.md (idempotent: run it on every deploy).
#
#   BOOTSTRAP=kafka:9092 PREFIX=motcua REPLICATION_FACTOR=3 deploy/kafka/topics.sh
#
# Needs Kafka's CLI (the apache/kafka image has it in /opt/kafka/bin). An existing topic keeps its partition count:
# adding partitions moves keys to other partitions and breaks per-dossier order, so do that only deliberately. Its
# retention/compaction configs are re-applied, so this file stays the source of truth.
set -euo pipefail

BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
PREFIX=${PREFIX:-${MOTCUA_TOPIC_PREFIX:-motcua}}
RF=${REPLICATION_FACTOR:-1}
BIN=${KAFKA_BIN:-/opt/kafka/bin}
# Producers use acks=all: with 3 or more replicas a write must reach 2 of them.
MIN_ISR=${MIN_INSYNC_REPLICAS:-$([ "$RF" -ge 3 ] && echo 2 || echo 1)}

DAY_MS=86400000
TEN_YEARS_MS=$((3653 * DAY_MS))
TWO_YEARS_MS=$((731 * DAY_MS))
FOREVER="retention.ms=-1 retention.bytes=-1"

# suffix | partitions | space-separated topic configs
TOPICS=(
  "catalogue.procedures|3|cleanup.policy=compact,delete retention.ms=$TEN_YEARS_MS"
  "catalogue.agencies|1|cleanup.policy=compact"
  "intake.dossiers|12|cleanup.policy=delete $FOREVER"
  "intake.queue|3|cleanup.policy=delete retention.ms=$TWO_YEARS_MS"
  "digitisation.documents|6|cleanup.policy=delete $FOREVER"
  "payments.payments|6|cleanup.policy=delete $FOREVER"
  "reporting.plans|1|cleanup.policy=compact"
)

topics() { "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "$@"; }

echo "waiting for $BOOTSTRAP..."
for attempt in $(seq 1 60); do
  topics --list >/dev/null 2>&1 && break
  [ "$attempt" = 60 ] && { echo "broker $BOOTSTRAP not reachable" >&2; exit 1; }
  sleep 2
done
existing=$(topics --list)

for spec in "${TOPICS[@]}"; do
  IFS='|' read -r suffix partitions configs <<<"$spec"
  topic="$PREFIX.$suffix"
  read -ra items <<<"$configs min.insync.replicas=$MIN_ISR"
  if grep -qxF "$topic" <<<"$existing"; then
    have=$(topics --describe --topic "$topic" | sed -nE 's/.*PartitionCount: *([0-9]+).*/\1/p' | head -n 1)
    [ "$have" = "$partitions" ] || echo "WARNING: $topic has $have partitions, docs/events.md says $partitions" >&2
    # kafka-configs.sh takes one comma-separated list; a list value goes in brackets: cleanup.policy=[compact,delete]
    altered=""
    for item in "${items[@]}"; do
      key=${item%%=*}; value=${item#*=}
      [[ $value == *,* ]] && value="[$value]"
      altered="${altered:+$altered,}$key=$value"
    done
    "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --alter --entity-type topics --entity-name "$topic" \
      --add-config "$altered" >/dev/null
    echo "exists:  $topic ($have partitions; configs re-applied)"
  else
    args=()
    for item in "${items[@]}"; do args+=(--config "$item"); done
    topics --create --if-not-exists --topic "$topic" --partitions "$partitions" --replication-factor "$RF" "${args[@]}" \
      >/dev/null
    echo "created: $topic ($partitions partitions, replication $RF)"
  fi
done
