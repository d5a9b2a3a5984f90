package dev.tokenmeter.bridge;

import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Every setting of the bridge. Each flag has an environment variable of the same meaning (the container's way);
 * a flag given on the command line wins over the variable.
 */
final class BridgeOptions {

    @Parameters(index = "0", arity = "0..1", paramLabel = "INPUT",
            description = "File source: a JSONL file, a directory of them, or - for standard input "
                    + "(env TOKENMETER_INPUT).")
    String inputArgument;

    @Option(names = "--input", defaultValue = "${env:TOKENMETER_INPUT}", hidden = true)
    String inputOption;

    @Option(names = "--source", defaultValue = "${env:TOKENMETER_SOURCE:-file}",
            description = "Where records come from: file, eventhubs or kafka (env TOKENMETER_SOURCE; default ${DEFAULT-VALUE}).")
    String source;

    @Option(names = "--mode", defaultValue = "${env:TOKENMETER_MODE:-bridge}",
            description = "bridge (usage records to OpenMeter) or rekey (APIM's LLM log from the diagnostic hub to the "
                    + "usage hub, keyed by request id; the --rekey-* options) (env TOKENMETER_MODE; default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--openmeter-url", defaultValue = "${env:TOKENMETER_OPENMETER_URL}",
            description = "OpenMeter base URL, e.g. https://openmeter.cloud (env TOKENMETER_OPENMETER_URL). "
                    + "Without it, events go to the local ledger.")
    String openMeterUrl;

    @Option(names = "--openmeter-token", defaultValue = "${env:TOKENMETER_OPENMETER_TOKEN}", arity = "1",
            description = "Bearer token for OpenMeter Cloud; prefer the environment variable TOKENMETER_OPENMETER_TOKEN.")
    String openMeterToken;

    @Option(names = "--event-source", defaultValue = "${env:TOKENMETER_EVENT_SOURCE}",
            description = "CloudEvents source attribute (env TOKENMETER_EVENT_SOURCE; default apim/<service name>).")
    String eventSource;

    @Option(names = "--event-type", defaultValue = "${env:TOKENMETER_EVENT_TYPE:-tokens}",
            description = "CloudEvents type attribute (env TOKENMETER_EVENT_TYPE; default ${DEFAULT-VALUE}).")
    String eventType;

    @Option(names = "--event-mapping", defaultValue = "${env:TOKENMETER_EVENT_MAPPING:-request}",
            description = "request (one event per request) or per-token-type (OpenMeter's LLM shape) "
                    + "(env TOKENMETER_EVENT_MAPPING; default ${DEFAULT-VALUE}).")
    String eventMapping;

    @Option(names = "--ledger-file", defaultValue = "${env:TOKENMETER_LEDGER_FILE:-tokenmeter-ledger.jsonl}",
            description = "Local ledger written when no OpenMeter URL is set (env TOKENMETER_LEDGER_FILE; default ${DEFAULT-VALUE}).")
    String ledgerFile;

    @Option(names = "--dead-letter-dir", defaultValue = "${env:TOKENMETER_DEAD_LETTER_DIR:-dead-letters}",
            description = "Directory for dead letters (env TOKENMETER_DEAD_LETTER_DIR; default ${DEFAULT-VALUE}).")
    String deadLetterDir;

    @Option(names = "--dead-letter-blob-container-url", defaultValue = "${env:TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL}",
            description = "Dead letters in this Blob container instead of the directory, one blob per letter, "
                    + "https://<account>.blob.core.windows.net/<container>; signs in with DefaultAzureCredential "
                    + "(env TOKENMETER_DEAD_LETTER_BLOB_CONTAINER_URL).")
    String deadLetterBlobContainerUrl;

    @Option(names = "--dead-letter-connection-string", defaultValue = "${env:TOKENMETER_DEAD_LETTER_CONNECTION_STRING}",
            arity = "1", description = "Storage connection string (its account key) for the dead-letter container "
                    + "instead of DefaultAzureCredential; prefer the environment variable "
                    + "TOKENMETER_DEAD_LETTER_CONNECTION_STRING.")
    String deadLetterConnectionString;

    @Option(names = "--max-record-bytes", defaultValue = "${env:TOKENMETER_MAX_RECORD_BYTES:-262144}",
            description = "Larger records are dead letters (env TOKENMETER_MAX_RECORD_BYTES; default ${DEFAULT-VALUE}).")
    int maxRecordBytes;

    @Option(names = "--batch-max-events", defaultValue = "${env:TOKENMETER_BATCH_MAX_EVENTS:-500}",
            description = "Events per request to the sink (env TOKENMETER_BATCH_MAX_EVENTS; default ${DEFAULT-VALUE}).")
    int batchMaxEvents;

    @Option(names = "--batch-max-bytes", defaultValue = "${env:TOKENMETER_BATCH_MAX_BYTES:-1048576}",
            description = "Bytes per request to the sink (env TOKENMETER_BATCH_MAX_BYTES; default ${DEFAULT-VALUE}).")
    int batchMaxBytes;

    @Option(names = "--batch-linger-ms", defaultValue = "${env:TOKENMETER_BATCH_LINGER_MS:-500}",
            description = "A partial batch is sent after this long (env TOKENMETER_BATCH_LINGER_MS; default ${DEFAULT-VALUE}).")
    long batchLingerMs;

    @Option(names = "--max-in-flight-requests", defaultValue = "${env:TOKENMETER_MAX_IN_FLIGHT_REQUESTS:-4}",
            description = "Concurrent requests to the sink; the source waits when all are busy "
                    + "(env TOKENMETER_MAX_IN_FLIGHT_REQUESTS; default ${DEFAULT-VALUE}).")
    int maxInFlightRequests;

    @Option(names = "--request-timeout-ms", defaultValue = "${env:TOKENMETER_REQUEST_TIMEOUT_MS:-30000}",
            description = "Timeout of one request to OpenMeter (env TOKENMETER_REQUEST_TIMEOUT_MS; default ${DEFAULT-VALUE}).")
    long requestTimeoutMs;

    @Option(names = "--retry-max-backoff-ms", defaultValue = "${env:TOKENMETER_RETRY_MAX_BACKOFF_MS:-30000}",
            description = "Longest wait between retries; retries never give up (env TOKENMETER_RETRY_MAX_BACKOFF_MS; default ${DEFAULT-VALUE}).")
    long retryMaxBackoffMs;

    @Option(names = "--http-port", defaultValue = "${env:TOKENMETER_HTTP_PORT}",
            description = "Port for /healthz, /readyz and /metrics (env TOKENMETER_HTTP_PORT; default 8080 for "
                    + "eventhubs and kafka, none for files; 0 picks a free port).")
    Integer httpPort;

    @Option(names = "--shutdown-timeout-ms", defaultValue = "${env:TOKENMETER_SHUTDOWN_TIMEOUT_MS:-20000}",
            description = "On SIGTERM or end of input, how long to wait for in-flight events before giving up on "
                    + "them (they are not checkpointed) (env TOKENMETER_SHUTDOWN_TIMEOUT_MS; default ${DEFAULT-VALUE}).")
    long shutdownTimeoutMs;

    @Option(names = "--log-format", defaultValue = "${env:TOKENMETER_LOG_FORMAT:-json}",
            description = "json (one JSON object per line on stderr) or text (env TOKENMETER_LOG_FORMAT; default ${DEFAULT-VALUE}).")
    String logFormat;

    @Option(names = "--quiet", defaultValue = "${env:TOKENMETER_QUIET:-false}", fallbackValue = "true", arity = "0..1",
            description = "Files: no progress lines, no per-user table and no info logs; the one summary line, "
                    + "warnings and errors still go out (env TOKENMETER_QUIET).")
    boolean quiet;

    // Exact usage for streamed responses: the join with APIM's LLM log; see docs/exact-streamed-usage.md

    @Option(names = "--join", defaultValue = "${env:TOKENMETER_JOIN:-on}",
            description = "on: streamed records that expect exact usage wait for their LLM log row; off: bill "
                    + "estimates at once (env TOKENMETER_JOIN; default ${DEFAULT-VALUE}).")
    String join;

    @Option(names = "--join-window-ms", defaultValue = "${env:TOKENMETER_JOIN_WINDOW_MS:-1200000}",
            description = "W: how long, in the partition's own time, a record waits for its row before its "
                    + "estimate is billed (env TOKENMETER_JOIN_WINDOW_MS; default ${DEFAULT-VALUE}).")
    long joinWindowMs;

    @Option(names = "--join-late-window-ms", defaultValue = "${env:TOKENMETER_JOIN_LATE_WINDOW_MS:-600000}",
            description = "How much longer an estimate is remembered so a late row can correct it "
                    + "(env TOKENMETER_JOIN_LATE_WINDOW_MS; default ${DEFAULT-VALUE}).")
    long joinLateWindowMs;

    @Option(names = "--join-max-pending", defaultValue = "${env:TOKENMETER_JOIN_MAX_PENDING:-2000000}",
            description = "Readiness turns red while the join holds more records and rows than this "
                    + "(env TOKENMETER_JOIN_MAX_PENDING; default ${DEFAULT-VALUE}).")
    long joinMaxPending;

    @Option(names = "--llm-logs", defaultValue = "${env:TOKENMETER_LLM_LOGS}", paramLabel = "PATH",
            description = "Backfill: APIM LLM log exports (a file or directory; Event Hubs messages as JSON lines, "
                    + "a Log Analytics export, or llm_usage rows) to join the whole input against, with no window "
                    + "(env TOKENMETER_LLM_LOGS).")
    String llmLogs;

    // Event Hubs source (TOKENMETER_SOURCE=eventhubs); see docs/bridge-sources.md

    @Option(names = "--eventhubs-namespace", defaultValue = "${env:TOKENMETER_EVENTHUBS_NAMESPACE}",
            description = "Fully qualified namespace, <name>.servicebus.windows.net (env TOKENMETER_EVENTHUBS_NAMESPACE).")
    String eventHubsNamespace;

    @Option(names = "--eventhubs-name", defaultValue = "${env:TOKENMETER_EVENTHUBS_NAME}",
            description = "Event hub name (env TOKENMETER_EVENTHUBS_NAME).")
    String eventHubsName;

    @Option(names = "--eventhubs-consumer-group", defaultValue = "${env:TOKENMETER_EVENTHUBS_CONSUMER_GROUP:-$Default}",
            description = "Consumer group (env TOKENMETER_EVENTHUBS_CONSUMER_GROUP; default ${DEFAULT-VALUE}).")
    String eventHubsConsumerGroup;

    @Option(names = "--eventhubs-connection-string", defaultValue = "${env:TOKENMETER_EVENTHUBS_CONNECTION_STRING}",
            arity = "1", description = "Instead of DefaultAzureCredential; prefer the environment variable "
                    + "TOKENMETER_EVENTHUBS_CONNECTION_STRING.")
    String eventHubsConnectionString;

    @Option(names = "--eventhubs-start-position", defaultValue = "${env:TOKENMETER_EVENTHUBS_START_POSITION:-earliest}",
            description = "Where a partition without checkpoint starts: earliest or latest "
                    + "(env TOKENMETER_EVENTHUBS_START_POSITION; default ${DEFAULT-VALUE}).")
    String eventHubsStartPosition;

    @Option(names = "--eventhubs-max-batch-size", defaultValue = "${env:TOKENMETER_EVENTHUBS_MAX_BATCH_SIZE:-100}",
            description = "Events per handler call (env TOKENMETER_EVENTHUBS_MAX_BATCH_SIZE; default ${DEFAULT-VALUE}).")
    int eventHubsMaxBatchSize;

    @Option(names = "--eventhubs-max-wait-ms", defaultValue = "${env:TOKENMETER_EVENTHUBS_MAX_WAIT_MS:-1000}",
            description = "Longest wait for a batch; an empty batch then is the partition's heartbeat "
                    + "(env TOKENMETER_EVENTHUBS_MAX_WAIT_MS; default ${DEFAULT-VALUE}).")
    long eventHubsMaxWaitMs;

    @Option(names = "--eventhubs-checkpoint-interval-ms",
            defaultValue = "${env:TOKENMETER_EVENTHUBS_CHECKPOINT_INTERVAL_MS:-5000}",
            description = "At most one checkpoint per partition this often, plus one on close "
                    + "(env TOKENMETER_EVENTHUBS_CHECKPOINT_INTERVAL_MS; default ${DEFAULT-VALUE}).")
    long eventHubsCheckpointIntervalMs;

    @Option(names = "--checkpoint-blob-container-url", defaultValue = "${env:TOKENMETER_CHECKPOINT_BLOB_CONTAINER_URL}",
            description = "Blob container for checkpoints and ownership, https://<account>.blob.core.windows.net/<container> "
                    + "(env TOKENMETER_CHECKPOINT_BLOB_CONTAINER_URL).")
    String checkpointBlobContainerUrl;

    @Option(names = "--checkpoint-connection-string", defaultValue = "${env:TOKENMETER_CHECKPOINT_CONNECTION_STRING}",
            arity = "1", description = "Storage connection string instead of DefaultAzureCredential; prefer the "
                    + "environment variable TOKENMETER_CHECKPOINT_CONNECTION_STRING.")
    String checkpointConnectionString;

    @Option(names = "--checkpoint-container", defaultValue = "${env:TOKENMETER_CHECKPOINT_CONTAINER}",
            description = "Container name, with --checkpoint-connection-string (env TOKENMETER_CHECKPOINT_CONTAINER).")
    String checkpointContainer;

    // Kafka source (TOKENMETER_SOURCE=kafka)

    @Option(names = "--kafka-bootstrap-servers", defaultValue = "${env:TOKENMETER_KAFKA_BOOTSTRAP_SERVERS}",
            description = "host:port list; for Event Hubs <namespace>.servicebus.windows.net:9093 "
                    + "(env TOKENMETER_KAFKA_BOOTSTRAP_SERVERS).")
    String kafkaBootstrapServers;

    @Option(names = "--kafka-topic", defaultValue = "${env:TOKENMETER_KAFKA_TOPIC}",
            description = "Topic (for Event Hubs: the hub) (env TOKENMETER_KAFKA_TOPIC).")
    String kafkaTopic;

    @Option(names = "--kafka-group-id", defaultValue = "${env:TOKENMETER_KAFKA_GROUP_ID:-tokenmeter-bridge}",
            description = "Consumer group (env TOKENMETER_KAFKA_GROUP_ID; default ${DEFAULT-VALUE}).")
    String kafkaGroupId;

    @Option(names = "--kafka-auth", defaultValue = "${env:TOKENMETER_KAFKA_AUTH:-none}",
            description = "none, eventhubs-connection-string or eventhubs-oauth (env TOKENMETER_KAFKA_AUTH; default ${DEFAULT-VALUE}).")
    String kafkaAuth;

    @Option(names = "--kafka-eventhubs-connection-string",
            defaultValue = "${env:TOKENMETER_KAFKA_EVENTHUBS_CONNECTION_STRING}", arity = "1",
            description = "For eventhubs-connection-string auth; prefer the environment variable "
                    + "TOKENMETER_KAFKA_EVENTHUBS_CONNECTION_STRING.")
    String kafkaEventHubsConnectionString;

    @Option(names = "--kafka-security-protocol", defaultValue = "${env:TOKENMETER_KAFKA_SECURITY_PROTOCOL}",
            description = "Overrides the security protocol (default SASL_SSL with Event Hubs auth, PLAINTEXT otherwise) "
                    + "(env TOKENMETER_KAFKA_SECURITY_PROTOCOL).")
    String kafkaSecurityProtocol;

    @Option(names = "--kafka-start-offset", defaultValue = "${env:TOKENMETER_KAFKA_START_OFFSET:-earliest}",
            description = "Where a partition without committed offset starts: earliest or latest "
                    + "(env TOKENMETER_KAFKA_START_OFFSET; default ${DEFAULT-VALUE}).")
    String kafkaStartOffset;

    @Option(names = "--kafka-max-poll-records", defaultValue = "${env:TOKENMETER_KAFKA_MAX_POLL_RECORDS:-500}",
            description = "Records per poll (env TOKENMETER_KAFKA_MAX_POLL_RECORDS; default ${DEFAULT-VALUE}).")
    int kafkaMaxPollRecords;

    @Option(names = "--kafka-commit-interval-ms", defaultValue = "${env:TOKENMETER_KAFKA_COMMIT_INTERVAL_MS:-1000}",
            description = "At most one offset commit this often, plus one on revocation and stop "
                    + "(env TOKENMETER_KAFKA_COMMIT_INTERVAL_MS; default ${DEFAULT-VALUE}).")
    long kafkaCommitIntervalMs;

    @Option(names = "--kafka-session-timeout-ms", defaultValue = "${env:TOKENMETER_KAFKA_SESSION_TIMEOUT_MS:-30000}",
            description = "How long the group waits for a silent member (a killed replica) before moving its "
                    + "partitions (env TOKENMETER_KAFKA_SESSION_TIMEOUT_MS; default ${DEFAULT-VALUE}).")
    long kafkaSessionTimeoutMs;

    String input() {
        return inputArgument != null ? inputArgument : inputOption;
    }
}
