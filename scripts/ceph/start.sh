#!/usr/bin/env bash
# Starts a one-node Ceph cluster (1 monitor, 1 bluestore OSD on a sparse file, 1 RADOS Gateway on
# 127.0.0.1) in a folder of its own, creates an S3 user and a bucket, and writes DIR/env:
#
#   scripts/ceph/start.sh [DIR]        (default DIR: $SERVAL_CEPH_DIR or /tmp/serval-ceph-$USER)
#   source DIR/env                     AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, … and SERVAL_TEST_S3_*
#   scripts/ceph/stop.sh [DIR]         stops exactly the daemons this started (by their pid files)
#
# Needs the Debian packages radosgw, ceph-mon and ceph-osd. Ports: SERVAL_CEPH_RGW_PORT and
# SERVAL_CEPH_MON_PORT, else free ones. Facts behind each setting: ../../docs/scaling.md.
set -euo pipefail

dir="${1:-${SERVAL_CEPH_DIR:-/tmp/serval-ceph-${USER:-$(id -un)}}}"
bucket="${SERVAL_CEPH_BUCKET:-serval}"
access_key="${SERVAL_CEPH_ACCESS_KEY:-serval-access}"
secret_key="${SERVAL_CEPH_SECRET_KEY:-serval-secret-key-for-tests-only}"
SECONDS=0

say() { echo "ceph: $*" >&2; }
fail() { say "$*"; [ -f "$dir/log/rgw.log" ] && tail -5 "$dir/log/rgw.log" >&2; exit 1; }
for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph; do
  command -v "$tool" > /dev/null || fail "$tool is missing: apt-get install -y radosgw ceph-mon ceph-osd"
done

if [ -f "$dir/rgw.pid" ] && kill -0 "$(cat "$dir/rgw.pid")" 2> /dev/null; then
  fail "a cluster already runs in $dir (stop it with scripts/ceph/stop.sh $dir)"
fi
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
mon_port="${SERVAL_CEPH_MON_PORT:-$(free_port)}"
rgw_port="${SERVAL_CEPH_RGW_PORT:-$(free_port)}"
[ "$mon_port" != "$rgw_port" ] || rgw_port=$(free_port)

rm -rf "$dir"
mkdir -p "$dir"/{mon,osd,rgw,run,log}
dir="$(cd "$dir" && pwd)"
fsid="$(cat /proc/sys/kernel/random/uuid)"
osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
conf="$dir/ceph.conf"

cat > "$conf" << CONF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$mon_port/0
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_bind_msgr1 = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_warn_on_pool_no_redundancy = false
run_dir = $dir/run
log_file = $dir/log/\$name.log
admin_socket = $dir/run/\$name.asok
keyring = $dir/keyring
mon_data = $dir/mon/\$name
osd_data = $dir/osd/\$name

[osd]
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = 4294967296
bluestore_block_path = $dir/osd-block
osd_memory_target = 536870912

[client]
# With auth none a client otherwise loops on 'get_initial_auth_request returned -13'.
ms_mon_client_mode = crc

[client.rgw.serval]
# tcp_nodelay: without it every small answer waits ~40 ms (Nagle against delayed ACKs).
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw_data = $dir/rgw
log_file = $dir/log/rgw.log
CONF
ceph_() { ceph -c "$conf" --connect-timeout 10 "$@"; }

say "monitor on 127.0.0.1:$mon_port"
monmaptool --create --add a "v2:127.0.0.1:$mon_port" --fsid "$fsid" "$dir/monmap" > /dev/null
ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' > /dev/null
ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$dir/keyring"
ceph-mon -c "$conf" -i a --pid-file "$dir/mon.pid" 2>> "$dir/log/daemons.log"

say "bluestore OSD on a sparse 4 GiB file"
osd_id="$(ceph_ osd new "$osd_uuid")"
mkdir -p "$dir/osd/osd.$osd_id"
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" > "$dir/log/osd-mkfs.log" 2>&1 \
  || { tail -5 "$dir/log/osd-mkfs.log" >&2; fail "ceph-osd --mkfs failed"; }
ceph-osd -c "$conf" -i "$osd_id" --pid-file "$dir/osd.pid" 2>> "$dir/log/daemons.log"
for _ in $(seq 1 120); do
  ceph_ osd stat 2> /dev/null | grep -q ' 1 up' && break
  sleep 0.25
done
ceph_ osd stat | grep -q ' 1 up' || fail "the OSD did not come up (see $dir/log)"

say "RADOS Gateway on 127.0.0.1:$rgw_port"
radosgw -c "$conf" -n client.rgw.serval --pid-file "$dir/rgw.pid" 2>> "$dir/log/daemons.log"
endpoint="http://127.0.0.1:$rgw_port"
for _ in $(seq 1 240); do
  curl -s -o /dev/null "$endpoint" && break
  sleep 0.25
done
curl -s -o /dev/null "$endpoint" || fail "the gateway does not answer on $endpoint (see $dir/log/rgw.log)"

radosgw-admin -c "$conf" user create --uid=serval --display-name=Serval \
  --access-key="$access_key" --secret-key="$secret_key" > "$dir/log/user.json" 2>> "$dir/log/admin.log" \
  || fail "radosgw-admin user create failed"

cat > "$dir/env" << ENV
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=$access_key
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_REGION=us-east-1
export SERVAL_TEST_S3_ENDPOINT=$endpoint
export SERVAL_TEST_S3_ACCESS_KEY_ID=$access_key
export SERVAL_TEST_S3_SECRET_ACCESS_KEY=$secret_key
export SERVAL_TEST_S3_BUCKET=$bucket
export SERVAL_CEPH_DIR=$dir
ENV
# The bucket, by one signed PUT (curl signs AWS SigV4 itself).
status="$(curl -s -o "$dir/log/bucket.xml" -w '%{http_code}' -X PUT --aws-sigv4 'aws:amz:us-east-1:s3' \
  -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
  --user "$access_key:$secret_key" "$endpoint/$bucket")"
[ "$status" = 200 ] || fail "could not create bucket $bucket (HTTP $status: $(cat "$dir/log/bucket.xml"))"

say "ready in ${SECONDS} s: $endpoint, bucket $bucket; env in $dir/env"
echo "$endpoint"
