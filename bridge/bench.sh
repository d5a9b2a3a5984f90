#!/usr/bin/env sh
# Runs the bridge core benchmark (dev.tokenmeter.bridge.bench.CoreBenchmark) in its own JVM, outside Maven.
# Usage: bridge/bench.sh [records for the end-to-end run, default 200000] [seconds per phase, default 10]
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./mvnw -q -B -pl bridge -am test-compile -DskipTests
./mvnw -q -B -pl bridge dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=bridge/target/bench-classpath.txt
exec java -Xmx1g -cp "bridge/target/test-classes:bridge/target/classes:$(cat bridge/target/bench-classpath.txt)" \
  dev.tokenmeter.bridge.bench.CoreBenchmark "$@"
