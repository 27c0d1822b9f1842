#!/usr/bin/env bash
# The main job: installs what is missing (apt, as root), builds, starts the central server
# (lumbung-server on its embedded SQLite database) and tells the story of two field laptops
# in Kecamatan Lambuya, Kabupaten Konawe, with the real tools: `lumbung` on each laptop and
# `lumbung-admin` at the central office. Every step is printed with the command it runs.
# The server is left running for you to explore, with the commands to do so;
# `tools/run.sh --once` stops it at the end instead.
# `tools/run.sh --postgres` tells the same story with the server on PostgreSQL: the script
# starts its own cluster (initdb in a temporary directory, Unix socket only; as `nobody`
# when run as root, since initdb refuses root) and two lumbung-server processes on one
# database; laptop Awuliti and the office talk to the first, laptop Lambuya to the second.
# LUMBUNG_PREBUILT=DIR uses the binaries already built in DIR instead of building.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$LUMBUNG_ROOT"

once=0
postgres=0
for arg in "$@"; do
  case "$arg" in
    --once) once=1 ;;
    --postgres) postgres=1 ;;
    *) echo "usage: tools/run.sh [--once] [--postgres]" >&2; exit 2 ;;
  esac
done

ensure_packages curl python3
if [ -n "${LUMBUNG_PREBUILT:-}" ]; then
  bdir=$(cd "$LUMBUNG_PREBUILT" && pwd)
  say "using the binaries in $bdir (LUMBUNG_PREBUILT)"
else
  say "build (Release)"
  build build/release -DCMAKE_BUILD_TYPE=Release -DLUMBUNG_BUILD_TESTS=OFF -DCMAKE_UNITY_BUILD=ON
  bdir="$LUMBUNG_ROOT/build/release"
fi
bin="$bdir/tools/cli"

work="$LUMBUNG_ROOT/build/demo/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$work"
say "making a self-signed certificate for the demo (tools/dev-cert.sh)"
tools/dev-cert.sh "$work/tls" 127.0.0.1 >/dev/null

pids=()     # servers and PostgreSQL, stopped by pid at the end with --once
pgdir=""
stop_all() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  [ -n "$pgdir" ] && rm -rf "$pgdir"
  return 0
}
trap '[ $once -eq 1 ] && stop_all' EXIT

# start_server NAME ARGS...: starts lumbung-server over HTTPS; sets $url and $server_pid.
start_server() {
  local name=$1; shift
  "$bdir/server/lumbung-server" --listen 127.0.0.1:0 "$@" \
    --tls-cert "$work/tls/server.crt" --tls-key "$work/tls/server.key" \
    >"$work/$name.out" 2>"$work/$name.log" &
  server_pid=$!
  pids+=("$server_pid")
  url=""
  for _ in $(seq 1 100); do  # up to 10 s
    url=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$work/$name.out" | head -1)
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "server did not start; see $work/$name.log" >&2; exit 1; }
}

if [ $postgres -eq 0 ]; then
  say "starting lumbung-server over HTTPS (data in $work/server)"
  start_server server --data "$work/server" --admin-token-file "$work/admin-token"
  say "server is up at $url (pid $server_pid)"
  url_b=$url
else
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgdir=$(mktemp -d /tmp/lumbung-run-pg.XXXXXX)
  as=()
  if [ "$(id -u)" -eq 0 ]; then
    chown nobody "$pgdir"
    as=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
  fi
  say "starting PostgreSQL ($pgbin, socket in $pgdir, log $work/postgres.log)"
  "${as[@]}" "$pgbin/initdb" -D "$pgdir/data" -U lumbung --auth=trust -E UTF8 \
    >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
  "${as[@]}" "$pgbin/postgres" -D "$pgdir/data" -k "$pgdir" -c listen_addresses= \
    >"$work/postgres.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do  # up to 10 s
    "$pgbin/pg_isready" -q -h "$pgdir" -U lumbung && break
    sleep 0.1
  done
  "$pgbin/createdb" -h "$pgdir" -U lumbung lumbung
  db="postgresql:///lumbung?host=$pgdir&user=lumbung"
  say "starting two lumbung-server processes on one database ($db)"
  start_server server-1 --db "$db" --key-file "$work/server.key" \
    --admin-token-file "$work/admin-token"
  url_a=$url
  start_server server-2 --db "$db" --key-file "$work/server.key" \
    --admin-token-file "$work/admin-token-2"
  url_b=$url
  url=$url_a
  say "servers are up: $url (laptop Awuliti, the office) and $url_b (laptop Lambuya)"
fi
first=server
[ $postgres -eq 1 ] && first=server-1
pin=$(sed -n 's/^tls pin sha256: //p' "$work/$first.out" | head -1)

# Laptops set up at the office keep the office's certificate and pin its key: a man in
# the middle on the way to the village cannot pose as the server.
export LUMBUNG_CA_FILE="$work/tls/server.crt"
export LUMBUNG_PIN="$pin"

# The central office's tool finds the server and its credential in the environment.
export LUMBUNG_SERVER="$url"
export LUMBUNG_ADMIN_TOKEN="$(cat "$work/admin-token")"
# Each laptop is one state directory; the CLIs speak Indonesian (add --lang en for English).
A=laptop-awuliti
B=laptop-lambuya
# Each laptop's store is encrypted with its officer's passphrase (`lumbung init` refuses to
# make one without, unless --unencrypted). An officer types it when `lumbung` asks (it is not
# shown) or hands it over with --passphrase-fd; this demo is a script, so it makes a random
# one per laptop and passes it in LUMBUNG_PASSPHRASE to each command. It lives only in this
# shell, never in a file.
declare -A pass
pass[$A]=$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')
pass[$B]=$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')
step() { printf '\n\033[1m%s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
on() {  # on LAPTOP ARGS...: run `lumbung` on that laptop, showing the command
  local who=$1; shift
  printf '\033[36m[%s]$ lumbung %s\033[0m\n' "$who" "$*"
  LUMBUNG_HOME="$work/$who" LUMBUNG_PASSPHRASE="${pass[$who]}" "$bin/lumbung" "$@"
}
office() {
  printf '\033[35m[kantor pusat]$ lumbung-admin %s\033[0m\n' "$*"
  "$bin/lumbung-admin" "$@"
}
code_from() { sed -n 's/.*\([0-9A-Z]\{5\}\(-[0-9A-Z]\{5\}\)\{3,\}\).*/\1/p' | head -1; }

step "1. Kantor pusat membuat kode pendaftaran untuk dua laptop (the central office makes enrolment codes)"
note "Both laptops work in Kecamatan Lambuya (74.02.01), so both see every desa of the kecamatan."
office codes create --scope 74.02.01 --label "Laptop Desa Awuliti" | tee "$work/code-a.txt"
office codes create --scope 74.02.01 --label "Laptop Lambuya" >"$work/code-b.txt"
code_a=$(code_from <"$work/code-a.txt")
code_b=$(code_from <"$work/code-b.txt")

step "2. Laptop Awuliti is set up at the office and registers at once"
on $A init --server "$url" --code "$code_a" --officer OFC-0001 --label "Laptop Desa Awuliti"
step "   Laptop Lambuya is set up in the field with no signal: the code waits for the first sync"
on $B init --server "https://127.0.0.1:9" --code "$code_b" --officer OFC-0002 --label "Laptop Lambuya"

step "3. Offline in Desa Awuliti (74.02.01.2006): a guided enrolment, one field at a time"
note "The officer types the kepala desa's birth date wrong; the NIK says otherwise, and the tool says so."
printf '%s\n' 7402015203780001 "Siti Rahmawati" Unaaha 1978-03-21 12-03-1978 P 74.02.01.2006 "" "" \
  1 "kepala desa" BPU "+62 812-4100-2201" "" "" 1,2 "Rp 4.500.000" APBDes "" "" | on $A enrol
step "   ... and one with flags, as a script would"
on $A enrol --nik 7402012107850002 --full-name "La Ode Amir" --birth-date 1985-07-21 --gender L \
  --village-code 74.02.01.2006 --occupation perangkat_desa --position "sekretaris desa" \
  --phone 0813-4100-2202 --programs JKK,JKM --monthly-income 3200000 --payment-source APBDes

step "4. Offline in Lambuya: the village's list from a spreadsheet (';'-separated, as Excel saves it)"
cat >"$work/daftar-lambuya.csv" <<'CSV'
nik;full_name;birth_date;gender;village_code;occupation;position;programs;monthly_income;payment_source
7402010901900003;Andi Saputra;09-01-1990;L;74.02.01.2001;perangkat_desa;kaur keuangan;JKK,JKM;2800000;APBDes
7402014506920004;Wa Ode Nur;1992-06-05;P;74.02.01.2001;kader_posyandu;;JKK,JKM;1500000;APBD
7402011503880005;Budi Santoso;1988-03-25;L;74.02.01.2001;petani;;JKK,JKM;1200000;APBD
7402010901900003;Andi Saputra;09-01-1990;L;74.02.01.2001;perangkat_desa;kaur keuangan;JKK,JKM;2800000;APBDes
CSV
note "Row 4 contradicts its NIK (born the 15th, not the 25th) and is refused with the reason;"
note "row 5 repeats row 2. Exit code 3 says some rows were refused; the others are in."
on $B import-csv "$work/daftar-lambuya.csv" || note "(exit code $?)"
step "   Running the same file again creates no duplicates"
on $B import-csv "$work/daftar-lambuya.csv" || note "(exit code $?)"
on $B list

step "5. A signal! Both laptops sync (Lambuya registers first, with the code it kept)"
on $A status
on $A sync
on $B --server "$url_b" sync
on $A sync
on $B list

step "6. Offline again: both officers correct the kepala desa's phone, differently;"
note "and the Lambuya officer enrols the sekretaris desa again (same NIK) — the tool warns."
on $A edit 7402015203780001 --set phone=0812-4100-2299
on $B edit 7402015203780001 --set phone=0852-4100-2288
on $B enrol --nik 7402012107850002 --full-name "La Ode Amir" --birth-date 1985-07-21 --gender L \
  --village-code 74.02.01.2006 --position "sekretaris desa" --phone 0813-4100-2277 \
  --programs JKK,JKM,JHT --monthly-income 3200000
on $A sync
on $B sync
on $A sync
on $B conflicts

step "7. The central office reviews: the phone conflict, and the same NIK enrolled twice side by side"
office conflicts list
office duplicates list
conflict=$("$bin/lumbung-admin" --json conflicts list | python3 -c \
  'import json,sys; print(next(c["id"] for c in json.load(sys.stdin)["conflicts"] if c["field"]=="phone"))')
dup=$("$bin/lumbung-admin" --json duplicates list | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["duplicates"][0]["id"])')
note "The reviewer phones the village and types the number that is right:"
office conflicts resolve "${conflict:0:8}" --value 0812-4100-2277 --yes
note "Record A (the first enrolment) survives; B's extra JHT and phone fill nothing A lacks, and B is kept as history:"
office duplicates merge "${dup:0:8}" --survivor A --yes
office progress --scope 74.02
office devices list
note "Every action above is in the hash-chained audit log; editing or deleting history breaks the chain:"
office audit verify

step "8. Next time each laptop has a signal, the decisions reach it"
on $A sync
on $B sync
on $A show 7402015203780001
on $B show 7402015203780001
on $B status

# Every replica must agree: the same live records with the same values.
LUMBUNG_PASSPHRASE="${pass[$A]}" "$bin/lumbung" --home "$work/$A" --json list >"$work/a.json"
LUMBUNG_PASSPHRASE="${pass[$B]}" "$bin/lumbung" --home "$work/$B" --json list >"$work/b.json"
if python3 - "$work/a.json" "$work/b.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
norm = lambda l: sorted((r["id"], json.dumps(r["fields"], sort_keys=True)) for r in l["records"])
sys.exit(0 if norm(a) == norm(b) else 1)
PY
then
  step "Both laptops hold the same $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$work/a.json") records with the same values; nothing was lost."
else
  echo "REPLICAS DISAGREE: compare $work/a.json and $work/b.json" >&2
  exit 1
fi

step "9. Two more for the office web page: the officers disagree on the kepala desa's income,"
note "and both enrol the bendahara desa (same NIK). Left open: the reviewer settles them in the browser."
on $A edit 7402015203780001 --set monthly_income=4100000
on $B edit 7402015203780001 --set monthly_income=4600000
on $A enrol --nik 7402016408920004 --full-name "Wa Ode Sitti" --birth-date 1992-08-24 --gender P \
  --village-code 74.02.01.2006 --position "bendahara desa" --phone 0813-4100-2290 \
  --programs JKK,JKM --monthly-income 2900000
on $B enrol --nik 7402016408920004 --full-name "Wa Ode Siti" --birth-date 1992-08-24 --gender P \
  --village-code 74.02.01.2006 --position "bendahara desa" --phone 0813-4100-2291 \
  --programs JKK,JKM,JHT --monthly-income 2900000
on $A sync
on $B sync
on $A sync
office conflicts list
office duplicates list

# The office web page (docs/DASHBOARD.md) is on the same port: a Kabupaten Konawe reviewer logs in.
reviewer=$("$bin/lumbung-admin" --json tokens create --role reviewer --scope 74.02 \
  --label "Reviewer Kab. Konawe" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
step "The office web page: $url/  (log in with the reviewer token below; step 9's conflict and duplicate are open there)"
note "reviewer token (Kab. Konawe): $reviewer"
note "The browser warns about the demo's self-signed certificate ($work/tls/server.crt)."

if [ $once -eq 1 ]; then
  say "done (--once): server stopped"
  exit 0
fi
trap - EXIT
cat <<EOT

The server is still running (pids ${pids[*]}). Explore it:
  export LUMBUNG_SERVER=$url
  export LUMBUNG_ADMIN_TOKEN=\$(cat $work/admin-token)
  export LUMBUNG_CA_FILE=$work/tls/server.crt LUMBUNG_PIN=$pin
  export PATH=$bin:\$PATH
  LUMBUNG_HOME=$work/$A lumbung status           # asks for the laptop's passphrase
  LUMBUNG_HOME=$work/$A lumbung enrol            # guided, one field at a time
  LUMBUNG_HOME=$work/$B lumbung --lang en list
The laptops' passphrases, made up by this demo (a real officer chooses and remembers one):
  $A: ${pass[$A]}
  $B: ${pass[$B]}
  lumbung-admin conflicts list --status all
  lumbung-admin progress --scope 74.02
  lumbung-admin export records --scope 74.02 --out records.csv
  lumbung help; lumbung-admin help
  curl -s --cacert $work/tls/server.crt $url/metrics | grep lumbung_
Stop it with: kill -INT ${pids[*]}${pgdir:+ (then rm -rf $pgdir)}
EOT
