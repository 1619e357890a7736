#!/usr/bin/env bash
# dnacl devices / selftest: the listing marks the chosen device, choices by index and name,
# an unknown choice lists the devices, and a machine without any OpenCL platform is told
# how to get the CPU device.
set -u
source "$(dirname "$0")/harness.sh"

"$DNACL" devices > "$TMP/out" 2>&1 && grep -qE '^\*  0 ' "$TMP/out" && pass "devices: device 0 listed and marked" || { fail "devices"; cat "$TMP/out"; }
grep -q 'platform.*device.*type.*vendor.*CUs.*memory' "$TMP/out" && pass "devices: the columns" || fail "devices columns"
"$DNACL" devices --device 0 > /dev/null 2>&1 && pass "--device 0" || fail "--device 0"
name=$("$DNACL" devices | sed -n 2p | cut -c 37-44 | tr -d " ")
DNACL_DEVICE="$name" "$DNACL" devices > /dev/null 2>&1 && pass "DNACL_DEVICE by name substring '$name'" || fail "DNACL_DEVICE=$name"

DNACL_DEVICE=no-such-device "$DNACL" devices > "$TMP/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "no device matches 'no-such-device'" "$TMP/out" && grep -q '\[0\]' "$TMP/out" \
  && pass "unknown device: error listing the devices" || { fail "unknown device (exit $rc)"; cat "$TMP/out"; }

mkdir "$TMP/novendors"
OCL_ICD_VENDORS="$TMP/novendors" "$DNACL" devices > "$TMP/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'no OpenCL platform found' "$TMP/out" && grep -q 'pocl-opencl-icd' "$TMP/out" \
  && pass "no platform: says so and how to install PoCL" || { fail "no platform (exit $rc)"; cat "$TMP/out"; }

"$DNACL" selftest > "$TMP/out" 2>&1 && grep -q 'selftest ok' "$TMP/out" && grep -q 'cl/conv1d.cl -DMR=4 -DNB=1 -DDM=2 -DDN=2: ok' "$TMP/out" && grep -q 'cl/activation.cl -DACT=8: ok' "$TMP/out" \
  && pass "selftest builds every kernel family" || { fail "selftest"; cat "$TMP/out"; }

finish
