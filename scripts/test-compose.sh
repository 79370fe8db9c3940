#!/usr/bin/env bash
# npm run test:compose -- the production stack (docker-compose.yml) against the
# SIPp scenarios of the embedded tests: builds and starts drachtio-server,
# FreeSWITCH and papgate, seeds a tenant, gives every scenario a fresh device,
# runs the scenarios from the `sipp` service (and the emergency gateway ones
# from `sipp-gateway`), and tears everything down again, volumes included.
#
#   SCENARIOS="sip-register-digest.xml ..."  run only these (caller scenarios)
#   KEEP=1                                    leave the stack running afterwards
# Logs (and SIPp's -trace_err/-trace_msg files): test-results/compose/.
# Needs Docker with the compose v2 plugin.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null 2>&1 || ! docker compose version >/dev/null 2>&1; then
  echo "test:compose needs Docker with the compose plugin (docker compose version)." >&2
  exit 2
fi

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-papgate-compose-test}"
export PAPGATE_ADMIN_TOKEN="${PAPGATE_ADMIN_TOKEN:-compose-test-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}"
DC=(docker compose --profile test)
LOGS=test-results/compose
mkdir -p "$LOGS"
DRACHTIO=172.28.0.10:5060   # docker-compose.yml: drachtio's static address
SIPP_IP=172.28.0.40
GATEWAY_IP=172.28.0.50

teardown() {
  local status=$?
  "${DC[@]}" logs --no-color >"$LOGS/stack.log" 2>&1 || true
  if [ "${KEEP:-0}" != 1 ]; then "${DC[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true; fi
  exit "$status"
}
trap teardown EXIT

"${DC[@]}" build
"${DC[@]}" up -d drachtio freeswitch papgate

# Ready when papgate says it reached both servers (bounded: 120 s).
for i in $(seq 1 60); do
  logs=$("${DC[@]}" logs --no-color papgate 2>/dev/null || true)
  if grep -q 'connected to drachtio-server' <<<"$logs" && grep -q 'connected to FreeSWITCH' <<<"$logs"; then break; fi
  if [ "$i" = 60 ]; then echo "papgate did not reach drachtio-server and FreeSWITCH in 120 s" >&2; exit 1; fi
  sleep 2
done

cli() { "${DC[@]}" exec -T papgate node dist/src/cli.js "$@"; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
cli tenant add compose-test --json >/dev/null
cli site add head-office --tenant compose-test --json >/dev/null

serial=0
new_device() { # $1: a serial number; prints "username password pap"
  local d
  d=$(cli device add --tenant compose-test --site head-office --mac "$(printf '02c0ffee%04x' "$1")" --vendor yealink --model T46U --json)
  echo "$(json sipUsername <<<"$d") $(json sipPassword <<<"$d") $(json pap <<<"$d")"
}

# Scenarios that see only the wire and hold on both stacks (npm run
# test:real-stack runs these and more against drachtio-server + FreeSWITCH
# without Docker). Not here: calls in failed/blocked state and parallel
# guesses (need the device driven into a state first), in-band PAP (needs an
# audio file the embedded test synthesises).
default_scenarios() {
  echo sip-options.xml sip-unknown-method-405.xml
  echo sip-register-digest.xml sip-register-wrong-password-403.xml sip-unauthenticated-invite-refused.xml
  echo auth-success-rfc4733.xml auth-success-sip-info.xml wrong-pap-three-times.xml
  echo emergency-passthrough.xml cancel-before-answer.xml sip-emergency-caller-remote-bye.xml
}
# The gateway side each emergency caller scenario needs (papgate sends X-Papgate-Mac/-Tenant/-Site).
gateway_for() {
  case "$1" in
    emergency-passthrough.xml) echo emergency-gateway-uas.xml ;;
    cancel-before-answer.xml) echo emergency-gateway-rings.xml ;;
    sip-emergency-caller-remote-bye.xml) echo emergency-gateway-hangs-up.xml ;;
  esac
}

common=(-m 1 -timeout 30s -timeout_error -nostdin -trace_err -trace_msg)
failed=0
for scenario in ${SCENARIOS:-$(default_scenarios)}; do
  [ -f "scenarios/$scenario" ] || { echo "skip $scenario (not in scenarios/)"; continue; }
  serial=$((serial + 1))
  read -r user password pap < <(new_device "$serial")
  case "$scenario" in *wrong-password*|*unauthenticated*) password="not-the-password" ;; esac
  case "$scenario" in *emergency*|cancel-before-answer.xml) dial=112 ;; *) dial='*89' ;; esac
  wrong=0; [ "$pap" = 000000 ] && wrong=1
  # Each scenario runs from its own copy in /results/stage-N (SIPp finds pcaps next to it).
  stage="/results/stage-$serial"
  prep="mkdir -p $stage && cp /scenarios/*.xml $stage/ &&"
  # The PAP as RFC 4733 captures numbered as one stream (SIPp's shipped ones
  # repeat sequence numbers; FreeSWITCH drops such digits), written on the host
  # into the directory the sipp container sees as /results.
  mkdir -p "$LOGS/stage-$serial"
  node --require tsx/cjs test/helpers/rtp-event-pcap.ts "$LOGS/stage-$serial" "${pap}#"
  args=(-sf "$stage/$scenario" -i "$SIPP_IP" -p 5062 -mp 6000 -au "$user" -ap "$password")
  case "$scenario" in auth-success-*) args+=(-oocsf "$stage/check-sync-notify.xml") ;; esac
  for v in $(sed -n 's/.*<Global variables="\([^"]*\)".*/\1/p' "scenarios/$scenario" | tr ',' ' '); do
    case "$v" in
      user) args+=(-set user "$user") ;;
      dial) args+=(-set dial "$dial") ;;
      wrong) args+=(-set wrong "$wrong") ;;
      d[1-6]) args+=(-set "$v" "${pap:${v#d}-1:1}") ;;
    esac
  done
  gateway=$(gateway_for "$scenario")
  gw_name="${COMPOSE_PROJECT_NAME}-gateway-$serial"
  if [ -n "$gateway" ]; then
    "${DC[@]}" run -d --name "$gw_name" sipp-gateway \
      -sf "/scenarios/$gateway" -i "$GATEWAY_IP" -p 5060 "${common[@]}" >/dev/null
    sleep 1
  fi
  if "${DC[@]}" run --rm -T --entrypoint sh sipp -c "$prep"' exec sipp "$@"' sipp \
      "${args[@]}" "${common[@]}" "$DRACHTIO" >"$LOGS/${scenario%.xml}.log" 2>&1; then
    result=pass
  else
    result=FAIL
  fi
  if [ -n "$gateway" ]; then
    gw_status=$(timeout 40 docker wait "$gw_name" 2>/dev/null || echo 1)
    docker logs "$gw_name" >"$LOGS/${gateway%.xml}-$serial.log" 2>&1 || true
    docker rm -f "$gw_name" >/dev/null 2>&1 || true
    [ "$gw_status" = 0 ] || result=FAIL
  fi
  echo "$result $scenario"
  [ "$result" = pass ] || failed=$((failed + 1))
done

if [ "$failed" -gt 0 ]; then
  echo "$failed scenario(s) failed; logs in $LOGS/" >&2
  exit 1
fi
echo "all scenarios passed against drachtio-server + FreeSWITCH"
