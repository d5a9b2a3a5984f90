package dev.tokenmeter.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.cli.openmeter.SessionMeters;
import dev.tokenmeter.policies.manifest.ManifestLoader;
import dev.tokenmeter.testkit.OpenMeterContractServer;
import dev.tokenmeter.testkit.ProjectFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 13, item 8: output that scripts can rely on. */
class OutputTest {

    private static final Path POLICIES = ProjectFiles.root().resolve("policies");
    private final OpenMeterContractServer openmeter = OpenMeterContractServer.start();
    private final Locale before = Locale.getDefault();

    @AfterEach
    void stop() {
        Locale.setDefault(before);
        openmeter.close();
    }

    private CliRunner.Result usage(String... extra) {
        new SessionMeters(openmeter);
        String[] args = new String[]{"usage", "--user", "alice@contoso.com", "--from", "2026-11-01", "--to", "2026-11-03",
                "--window", "day", "--openmeter-url", openmeter.baseUri().toString()};
        String[] all = new String[args.length + extra.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(extra, 0, all, args.length, extra.length);
        return new CliRunner().env("TOKENMETER_OPENMETER_TOKEN", "t").run(all);
    }

    @Test
    void csvAndTablesAreTheSameInEveryLocale() {
        Locale.setDefault(Locale.GERMANY);
        CliRunner.Result csv = usage("-o", "csv");
        assertThat(csv.exitCode()).as(csv.err()).isZero();
        assertThat(csv.out()).contains("2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,gpt-4o,182340,64000,41210,0,223550")
                .doesNotContain("182.340", "\"182,340\"");
        CliRunner.Result table = usage();
        assertThat(table.out()).contains("182,340").doesNotContain("182.340");
        assertThat(openmeter.violations()).isEmpty();
    }

    @Test
    void jsonCountsAreIntegers() throws Exception {
        CliRunner.Result json = usage("-o", "JSON");
        assertThat(json.exitCode()).as(json.err()).isZero();
        var rows = new ObjectMapper().readTree(json.out());
        assertThat(rows.get(0).get("inputTokens").isIntegralNumber()).as(json.out()).isTrue();
        assertThat(json.out()).doesNotContain("182340.0");
    }

    @Test
    void everyCommandThatPrintsDataHonoursOrRefusesCsv() {
        CliRunner.Result validate = new CliRunner().run("policy", "validate", POLICIES.toString(), "-o", "csv");
        assertThat(validate.exitCode()).isZero();
        assertThat(validate.out()).startsWith("file,line,column,rule,message,fix");
        CliRunner.Result diff = new CliRunner().run("policy", "diff", "-o", "csv");
        assertThat(diff.exitCode()).isEqualTo(2);
        assertThat(diff.err()).contains("-o csv: policy diff prints unified diffs (table) or json");
        CliRunner.Result unknown = new CliRunner().run("policy", "validate", POLICIES.toString(), "-o", "yaml");
        assertThat(unknown.exitCode()).isEqualTo(2);
    }

    @Test
    void versionNamesTheBuildAndThePolicySet() {
        CliRunner.Result r = new CliRunner().env("TOKENMETER_POLICY_DIR", POLICIES.toString()).run("--version");
        assertThat(r.exitCode()).isZero();
        String setVersion = ManifestLoader.load(POLICIES).version();
        assertThat(r.out()).containsPattern("tokenmeter [0-9]+\\.[0-9]+\\.[0-9]+\\S* \\(commit ([0-9a-f]{12}|unknown)\\)")
                .contains("policy set: tokenmeter " + setVersion + " in " + POLICIES);
    }
}
