#!/usr/bin/env bash
# make bench: the Go benchmarks of the hot paths, then janua-load against a
# fresh `janua serve` on SQLite and on PostgreSQL + Redis, written to
# docs/performance.md with the machine, commit and date. Not run by CI.
#
# Needs what `make test` needs: Go, PostgreSQL at JANUA_TEST_POSTGRES_DSN
# (a fresh schema per run, made by janua-load pgschema), Redis at JANUA_TEST_REDIS_ADDR.
# Knobs: BENCH_DURATION (10s per scenario), BENCH_CONCURRENCY (16: enough connections to keep both cores busy; the p99 target is measured apart, open loop at half the rate),
# BENCH_USERS (64), BENCHTIME (go test -benchtime, 1s), BENCH_OUT,
# and for a quicker partial run BENCH_SCENARIOS ("all", or names separated
# by spaces), BENCH_BACKENDS ("sqlite postgres"), BENCH_GO (1; 0 skips the
# Go benchmarks), BENCH_HALF_RATE (10s: the open-loop pass at half the rate
# reached, for the p99 target; 0 skips it). BENCH_SEED (empty) is `janua seed` flags, e.g. "--users
# 1000000 --clients 100000 --tokens 10000000": the rows are added after the
# set-up and before the server starts (then, on PostgreSQL, VACUUM ANALYZE,
# so that autovacuum does not run during the load), and the counts and
# times go in the markdown (make bench-growth). With BENCH_SEED, each backend
# is first loaded empty, the same way, unless BENCH_BASELINE=0, and a table
# compares the two.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"
duration=${BENCH_DURATION:-10s}
concurrency=${BENCH_CONCURRENCY:-16}
users=${BENCH_USERS:-64}
benchtime=${BENCHTIME:-1s}
out=${BENCH_OUT:-docs/performance.md}
scenarios=${BENCH_SCENARIOS:-all}
backends=${BENCH_BACKENDS:-sqlite postgres}
gobench=${BENCH_GO:-1}
halfrate=${BENCH_HALF_RATE:-10s}
seed=${BENCH_SEED:-}
baseline=${BENCH_BASELINE:-1}
pg=${JANUA_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
redis=${JANUA_TEST_REDIS_ADDR:-127.0.0.1:6379}
work=$(mktemp -d)
server_pid=
schema=
# drop_schema drops the PostgreSQL schema of the run, if any (a seeded one
# holds gigabytes).
drop_schema() {
	if [[ -n $schema ]]; then "$work/janua-load" pgschema --dsn "$pg" drop "$schema"; schema=; fi
}
cleanup() {
	if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	drop_schema || true
	rm -rf "$work"
}
trap cleanup EXIT
log() { printf 'bench: %s\n' "$*" >&2; }
started=$(date +%s)


log "building janua and janua-load"
CGO_ENABLED=0 go build -trimpath -o "$work/janua" ./cmd/janua
CGO_ENABLED=0 go build -trimpath -o "$work/janua-load" ./cmd/janua-load

# The disk's flush latency, idle: every durable commit on PostgreSQL waits for
# one (fdatasync of its write-ahead log), so a p99 target of milliseconds
# needs flushes far below it. Measured where the run's files are.
log "disk flush latency"
disk=$("$work/janua-load" disk --dir "$work" --duration 5s)
diskdev=$(df --output=source,fstype "$work" 2>/dev/null | tail -1 | tr -s ' ' || true)
[[ -n $diskdev ]] || diskdev="the run's filesystem"

if [[ $gobench == 1 ]]; then
	log "Go benchmarks (-benchtime $benchtime)"
	pkgs=$(git grep -l '^func Benchmark' -- '*_test.go' | xargs -n1 dirname | sort -u | sed 's|^|./|')
	JANUA_TEST_POSTGRES_DSN=$pg JANUA_TEST_REDIS_ADDR=$redis \
		go test -run '^$' -bench . -benchmem -count=1 -benchtime "$benchtime" $pkgs | tee "$work/gobench.txt" >&2
fi

# A free loopback port: bind :0 through bash's /dev/tcp is not possible, so
# pick one from the ephemeral range that nothing listens on.
port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	echo "bench: no free port" >&2; exit 1
}

# run_backend NAME KEY [SEED]: serve on a fresh database, set up, seed it
# with the janua seed flags SEED if any, load every scenario; the results
# go in $work/KEY*.
run_backend() {
	local name=$1 key=$2 seed=${3:-} port mport t0 t1 rc=0
	port=$(port); mport=$(port)
	export JANUA_ISSUER=http://127.0.0.1:$port JANUA_HTTP_ADDR=127.0.0.1:$port JANUA_METRICS_LISTEN=127.0.0.1:$mport JANUA_METRICS_PPROF=true
	export JANUA_DATA_DIR=$work/$key JANUA_SECRET=bench-secret-bench-secret-bench-secret-0123
	# One loopback address plays every user: lift the per-IP limits (the
	# users are many, so no account lockout is reached either).
	export JANUA_LOGIN_IP_RATE_LIMIT=100000000 JANUA_TOKEN_FAILURE_LIMIT=-1
	unset JANUA_DATABASE_URL JANUA_REDIS_URL JANUA_REDIS_PREFIX
	if [[ $name == postgres ]]; then
		schema=bench_$(date +%s)_$$
		"$work/janua-load" pgschema --dsn "$pg" create "$schema"
		export JANUA_DATABASE_URL="$pg&search_path=$schema"
		export JANUA_REDIS_URL=redis://$redis JANUA_REDIS_PREFIX="janua-$schema:"
	fi
	log "$key: set-up ($users users)"
	"$work/janua-load" setup --janua "$work/janua" --users "$users" --out "$work/$key-fixture.json" >&2
	if [[ -n $seed ]]; then
		# Its own tag: the set-up's users (another tag) stay the ones signing in.
		log "$key: seed $seed"
		t0=$(date +%s%N)
		# shellcheck disable=SC2086 # $seed is flags
		"$work/janua" seed $seed --tag bench-growth --output json >"$work/$key-seed.json"
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000000)) >"$work/$key-seed-ms"
		if [[ $name == postgres ]]; then
			log "$key: VACUUM ANALYZE"
			t0=$(date +%s%N)
			"$work/janua-load" pgschema --dsn "$pg" analyze "$schema"
			t1=$(date +%s%N)
			echo $(((t1 - t0) / 1000000)) >"$work/$key-vacuum-ms"
		fi
	fi
	log "$key: serve"
	t0=$(date +%s%N)
	"$work/janua" serve >"$work/$key-serve.out" 2>"$work/$key-serve.log" &
	server_pid=$!
	"$work/janua-load" wait --url "$JANUA_ISSUER/health/ready" --timeout 60s >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000)) >"$work/$key-ready-ms"
	sleep 1
	awk '/^VmRSS:/ {printf "%.1f", $2/1024}' "/proc/$server_pid/status" >"$work/$key-idle-rss"
	log "$key: load, $duration per scenario, concurrency $concurrency"
	local sc=() s
	for s in $scenarios; do sc+=(--scenario "$s"); done
	mkdir -p "$work/$key-profiles"
	"$work/janua-load" --issuer "$JANUA_ISSUER" --fixture "$work/$key-fixture.json" "${sc[@]}" \
		--duration "$duration" --warmup 2s --concurrency "$concurrency" --half-rate "$halfrate" --verify-every 16 \
		--server-pid "$server_pid" --metrics-url "http://127.0.0.1:$mport/metrics" --profile-dir "$work/$key-profiles" \
		--output markdown --save "$work/$key.json" >"$work/$key.md" || rc=$?
	[[ $rc == 0 || $rc == 3 ]] || { echo "bench: janua-load failed ($rc)" >&2; exit 1; }
	kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=
	drop_schema
}

for b in $backends; do
	if [[ -n $seed && $baseline == 1 ]]; then run_backend "$b" "$b-empty"; fi
	run_backend "$b" "$b" "$seed"
done

# growth_table EMPTY SEEDED: the janua-load reports (--save) side by side.
growth_table() { "$work/janua-load" growth --empty "$1" --seeded "$2"; }

log "writing $out"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ":!$out" || echo "-dirty")
{
	if [[ -n $seed ]]; then
		echo "# Performance on a grown database"
		echo
		echo "Written by \`make bench-growth\` (bench/run.sh with BENCH_SEED=\"$seed\"): the load of \`make bench\` on a database"
		echo "seeded with \`janua seed\` before the server starts$([[ $baseline == 1 ]] && echo ", beside the same load on an empty one")."
		echo
	else
		echo "# Performance"
		echo
	fi
	echo "Written by \`make bench\` (bench/run.sh); figures from one machine shared with other work, so noisy:"
	echo "compare runs on the same machine, and read trends, not single digits. Nothing here is asserted by \`make test\`."
	echo
	echo "| | |"
	echo "| --- | --- |"
	echo "| date | $(date -u +%Y-%m-%dT%H:%MZ) |"
	echo "| commit | \`$commit\` |"
	echo "| machine | ${cpu:-unknown CPU}, $(nproc) cores, $mem RAM, $(uname -sr) |"
	echo "| Go | $(go env GOVERSION) |"
	echo "| disk | \`janua-load disk\` on $diskdev, idle, before the run: $disk |"
	echo "| load | \`janua-load\` on the same machine: $duration per scenario after a 2s warm-up, $concurrency workers, closed loop, keep-alive; then $halfrate open loop at half the rate reached; every ID token verified, every 16th JWT access token |"
	echo "| server | \`janua serve\` with the default configuration (argon2id m=19 MiB t=2, info access log to a file), per-IP limits lifted |"
	echo
	echo "Columns: operations per second; latency percentiles of successful operations; the p99 of an open-loop pass at half"
	echo "that rate (latency from each operation's planned start, with the rate achieved); errors (any unexpected status or body);"
	echo "HTTP requests per operation; the server's CPU time per operation from /proc/PID/stat (user + system);"
	echo "database statements per operation from \`janua_db_statements_total\` (BEGIN and COMMIT count); the server's"
	echo "resident memory before, at peak (sampled every 100 ms) and after the scenario. An operation is one request,"
	echo "except \`code\` (authorize, its redirect, token: ID token verified) and \`password\` (login page, form post)."
	echo
	echo "## Targets"
	echo
	echo "Issue 6's budget against this run (\`janua-load targets\`); PostgreSQL + Redis unless marked. A throughput that misses"
	echo "says by what factor; what bounds each one is in the CPU profiles below."
	echo
	argon2= argon2par=
	if [[ -e $work/gobench.txt ]]; then
		argon2=$(awk '/^BenchmarkVerifyArgon2idDefault-/ { for (i = 2; i <= NF; i++) if ($(i+1) == "cpu-µs/op") { print $i; exit } }' "$work/gobench.txt")
		argon2par=$(awk '/^BenchmarkVerifyArgon2idDefaultParallel-/ { for (i = 2; i <= NF; i++) if ($(i+1) == "cpu-µs/op") { print $i; exit } }' "$work/gobench.txt")
	fi
	targs=()
	for name in $backends; do targs+=("--$name" "$work/$name.json"); done
	[[ -e $work/sqlite-ready-ms ]] && targs+=(--sqlite-ready-ms "$(cat "$work/sqlite-ready-ms")")
	[[ -e $work/postgres-idle-rss ]] && targs+=(--postgres-idle-mib "$(cat "$work/postgres-idle-rss")")
	[[ -n $argon2 ]] && targs+=(--argon2-cpu-us "$argon2")
	[[ -n $argon2par ]] && targs+=(--argon2-parallel-cpu-us "$argon2par")
	# argon2id's share of the PostgreSQL password scenario's server CPU profile.
	argon2share=
	if [[ -e $work/postgres-profiles/password.pprof ]]; then
		argon2share=$(go tool pprof -top -cum "$work/postgres-profiles/password.pprof" 2>/dev/null |
			awk '$NF == "github.com/madfam-org/janua/login.(*Passwords).argon2id" { sub("%", "", $5); print $5; exit }')
	fi
	[[ -n $argon2share ]] && targs+=(--argon2-share-pct "$argon2share")
	"$work/janua-load" targets "${targs[@]}"
	for name in $backends; do
		echo
		if [[ $name == sqlite ]]; then
			echo "## SQLite (embedded: one writer connection, read-only readers beside it), hot state in memory"
		else
			echo "## PostgreSQL + Redis"
		fi
		echo
		echo "Start to ready (process start to the first 200 on /health/ready, database migrated): $(cat "$work/$name-ready-ms") ms."
		echo "Idle resident memory after start: $(cat "$work/$name-idle-rss") MiB."
		if [[ -n $seed ]]; then
			echo
			# From the summary janua seed --output json prints (one "key": value a line;
			# the totals come last, in their own object).
			awk -v seed="$seed" -v ms="$(cat "$work/$name-seed-ms")" -v vac="$(cat "$work/$name-vacuum-ms" 2>/dev/null)" '
				/"totals"/ { pre = "total_" }
				/^ *"(users|clients|tokens)": [0-9]+/ { k = $1; gsub(/[":]/, "", k); v[pre k] = $2 + 0 }
				END {
					rows = v["users"] + v["clients"] + v["tokens"]
					printf "Seeded after the set-up, before the server started (`janua seed %s`): %d users, %d clients and %d token rows", seed, v["users"], v["clients"], v["tokens"]
					printf " in %.1f s (%.0f rows/s)", ms / 1000, rows / (ms / 1000)
					if (vac != "") printf ", then VACUUM ANALYZE in %.1f s", vac / 1000
					printf "; the database then held %d users, %d clients and %d token rows.\n", v["total_users"], v["total_clients"], v["total_tokens"]
				}' "$work/$name-seed.json"
		fi
		echo
		cat "$work/$name.md"
		if [[ -f $work/$name-empty.json ]]; then
			echo
			echo "### The same on an empty database"
			echo
			echo "Loaded just before, same commit and configuration, with only the set-up's rows."
			echo
			cat "$work/$name-empty.md"
			echo
			echo "### Growth: seeded against empty"
			echo
			echo "Each figure empty → seeded, and the change. The target (issue 6): within 20 %."
			echo
			growth_table "$work/$name-empty.json" "$work/$name.json"
		fi
	done
	echo
	echo "## Where the CPU goes"
	echo
	echo "The server's CPU profile over each scenario's measured window (\`metrics.pprof\`, \`janua-load --profile-dir\`):"
	echo "the functions with the most CPU of their own, then the cumulative share of the layers that matter."
	for name in $backends; do
		for f in "$work/$name-profiles"/*.pprof "$work/$name-empty-profiles"/*.pprof; do
			[[ -e $f ]] || continue
			local_name=$name
			[[ $f == "$work/$name-empty-profiles/"* ]] && local_name="$name (empty database)"
			echo
			echo "<details><summary>$local_name, $(basename "$f" .pprof)</summary>"
			echo
			echo '```'
			go tool pprof -top -nodecount=14 "$f" 2>/dev/null | sed -n '/^Showing top/,$p' | cut -c1-140
			echo
			go tool pprof -top -cum "$f" 2>/dev/null | grep -E ' (net/http\.\(\*conn\)\.serve|github.com/labstack/echo/v4\.\(\*Echo\)\.ServeHTTP|gorm.io/gorm\.\(\*processor\)\.Execute|database/sql\.\(\*DB\)\.(ExecContext|QueryContext)|github.com/madfam-org/janua/login\.\(\*Passwords\)\.argon2id|runtime\.gcBgMarkWorker|syscall\.Syscall6?|internal/runtime/syscall/linux\.Syscall6|crypto/(rsa|ecdsa)\.Sign.*|html/template\.\(\*Template\)\.Execute)$' | head -14 | cut -c1-140
			echo '```'
			echo
			echo "</details>"
		done
	done
	if [[ $gobench == 1 ]]; then
		echo
		echo "## Go benchmarks"
		echo
		echo "\`go test -run '^\$' -bench . -benchmem -benchtime $benchtime\` over the packages with benchmarks (SQLite and PostgreSQL, memory and Redis where a benchmark runs on each)."
		echo
		echo '```'
		grep -E '^(Benchmark|pkg:|ok|FAIL)' "$work/gobench.txt"
		echo '```'
	fi
	echo
	echo "make bench took $(( $(date +%s) - started )) s."
} >"$out"
log "done in $(( $(date +%s) - started )) s: $out"
