#!/usr/bin/env bash
# Drive a gatehouse demonstration server with command-line clients: every
# curl line its banner (and the README) prints, httpie, wget and openssl
# s_client. Reads GH_* from the environment, prints "ok NAME" or
# "FAIL NAME: why" per check. Run by interop/interop_test.go.
set -u
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HTTPIE_CONFIG_DIR="$work/httpie"

# check NAME WANT CMD...: CMD's output must contain WANT.
check() {
  local name=$1 want=$2
  shift 2
  local out
  out=$("$@" 2>&1)
  if [[ $out == *"$want"* ]]; then
    echo "ok $name"
  else
    failed=1
    echo "FAIL $name: wanted '$want' in: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)"
  fi
}

B=$GH_BASE
check "curl xcat query credentials" '"scheme":"query"' curl -sS -k "$B/xcatws/nodes?userName=wsuser&userPW=cluster-secret"
token=$(curl -sS -k -X POST -H 'Content-Type: application/json' --data '{"userName":"wsuser","userPW":"cluster-secret"}' "$B/xcatws/tokens" |
  sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
check "curl xcat token issue" "gate_at_" echo "$token"
check "curl xcat X-Auth-Token" '"scheme":"token"' curl -sS -k -H "X-Auth-Token: $token" "$B/xcatws/nodes"
check "curl satellite basic" '"scheme":"basic"' curl -sS -k --user admin:satellite-pw "$B/api/status"
check "curl satellite pat" '"scheme":"pat"' curl -sS -k --user "admin:$GH_PAT" "$B/api/status"
# Ansible's uri module without force_basic_auth: it answers only a 401
# whose first challenge is Basic (an OAuth one first failed it).
check "ansible uri after the challenge (Satellite)" '"status": 200' env ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False \
  ANSIBLE_HOME="$work/ansible" ANSIBLE_LOCAL_TEMP="$work/ansible/tmp" ansible localhost -m uri -a "url=$B/api/status user=admin password=satellite-pw ca_path=$GH_CA"
check "curl --http1.0" '"scheme":"basic"' curl -sS --http1.0 --cacert "$GH_CA" --user admin:satellite-pw "$B/api/status"
check "curl ovirt basic user@domain" '"scheme":"basic"' curl -sS -k --user admin@internal:ovirt-pw "$B/ovirt-engine/api"
access=$(curl -sS -k -H 'Accept: application/json' --data 'grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw' \
  "$B/ovirt-engine/sso/oauth/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
check "curl ovirt sso token" "gate_at_" echo "$access"
check "curl ovirt bearer" '"scheme":"oauth2"' curl -sS -k -H "Authorization: Bearer $access" "$B/ovirt-engine/api"
jar="$work/jar"
check "curl ovirt persistent-auth login" '"scheme":"basic"' curl -sS -k -c "$jar" -b "$jar" -H 'Prefer: persistent-auth' --user admin@internal:ovirt-pw "$B/ovirt-engine/api"
check "curl ovirt persistent-auth cookie" '"scheme":"session"' curl -sS -k -c "$jar" -b "$jar" -H 'Prefer: persistent-auth' "$B/ovirt-engine/api"
check "curl ovirt pki-resource" "BEGIN CERTIFICATE" curl -sS -k "$B/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA"
check "curl flocker mtls" '"scheme":"mtls"' curl -sS --cacert "$GH_CA" --cert "$GH_CERT" --key "$GH_KEY" "$B/v1/state/nodes"

check "httpie basic" '"scheme":"basic"' http --ignore-stdin --verify="$GH_CA" -a admin:satellite-pw GET "$B/api/status"
check "httpie pat" '"scheme":"pat"' http --ignore-stdin --verify="$GH_CA" -a "admin:$GH_PAT" GET "$B/api/status"
check "httpie xcat token" '"scheme":"token"' http --ignore-stdin --verify="$GH_CA" GET "$B/xcatws/nodes" "X-Auth-Token:$token"
check "wget basic" '"scheme":"basic"' wget -q -O- --ca-certificate="$GH_CA" --auth-no-challenge --user=admin --password=satellite-pw "$B/api/status"
check "wget basic after challenge" '"scheme":"basic"' wget -q -O- --ca-certificate="$GH_CA" --user=admin --password=satellite-pw "$B/api/status"
hostport=${B#https://}
check "openssl s_client -showcerts" "gatehouse-demo" sh -c "openssl s_client -connect $hostport -showcerts </dev/null"
check "openssl s_client verifies with the CA" "Verify return code: 0 (ok)" sh -c "openssl s_client -connect $hostport -CAfile $GH_CA </dev/null"

exit $failed
