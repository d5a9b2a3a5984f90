#!/usr/bin/env sh
# Runs the bridge core benchmark (dev.tokenmeter.bridge.bench.CoreBenchmark) in its own JVM, outside Maven.
# Usage: bridge/bench.sh [records for the end-to-end run, default 200000] [seconds per phase, default 10]
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# one reactor build, so a fresh clone needs nothing installed; the classpath file is named absolutely because
# Maven runs each module's plugins in the module's own directory
./mvnw -q -B -pl bridge -am test-compile dependency:build-classpath -DskipTests -Dmdep.includeScope=test \
  -Dmdep.outputFile="$root/bridge/target/bench-classpath.txt"
exec java -Xmx1g -cp "bridge/target/test-classes:bridge/target/classes:policies/target/classes:$(cat bridge/target/bench-classpath.txt)" \
  dev.tokenmeter.bridge.bench.CoreBenchmark "$@"
