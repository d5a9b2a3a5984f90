package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliRunner;
import dev.tokenmeter.cli.MonoGate;
import dev.tokenmeter.testkit.ArmContractServer;
import dev.tokenmeter.testkit.ProjectFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** validate (and deploy, which validates first) compile every expression with Mono's compiler. */
class ValidateCompilesTest {

    /** An int where C# has a string: well-formed, valid for every XML rule, refused by the compiler. */
    static final String TYPE_ERROR = "<set-variable name=\"tm-limit\" value=\"@{\n\t\tint tokens = context.Request.Method;\n\t\treturn tokens;\n\t}\" />";

    @TempDir
    Path tmp;

    @Test
    void theRepositorySetCompilesClean() {
        MonoGate.require();
        CliRunner.Result r = new CliRunner().run("policy", "validate", ProjectFiles.root().resolve("policies").toString());
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).containsPattern("is valid: 10 files checked, \\d+ expressions compiled\\.");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void aTypeErrorInAFragmentIsAFindingAtFileLineColumn() throws Exception {
        MonoGate.require();
        PolicySetFixture.write(tmp, "1.0.0", TYPE_ERROR);
        Path fragment = tmp.resolve("fragments/tm-limits.xml");
        List<String> lines = Files.readAllLines(fragment);
        int line = lines.indexOf("\t\tint tokens = context.Request.Method;") + 1;
        int column = lines.get(line - 1).indexOf("Method") + 1;

        CliRunner.Result r = new CliRunner().run("policy", "validate", tmp.toString());

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).startsWith(fragment + ":" + line + ":" + column + ": [expression-compiles] C# error CS0029: ")
                .contains("1 problem(s)");
        CliRunner.Result json = new CliRunner().run("policy", "validate", tmp.toString(), "-o", "json");
        assertThat(json.out()).contains("\"line\" : " + line, "\"column\" : " + column, "\"rule\" : \"expression-compiles\"");
    }

    @Test
    void withoutMonoOneLineSaysSoAndTheOtherRulesRun() throws Exception {
        PolicySetFixture.write(tmp, "1.0.0", TYPE_ERROR);
        Path emptyPath = Files.createDirectory(tmp.resolve("bin"));

        CliRunner.Result r = new CliRunner().env("PATH", emptyPath.toString()).run("policy", "validate", tmp.toString());

        assertThat(r.exitCode()).as(r.out()).isZero();
        assertThat(r.out()).contains("is valid: 3 files checked, expressions not compiled.");
        assertThat(r.err().lines().toList()).containsExactly("note: expressions not compiled: mcs, mono or Newtonsoft.Json"
                + " not found (install them: apt-get install -y mono-mcs libnewtonsoft-json-cil-dev)");

        Files.delete(tmp.resolve("fragments/tm-identity.xml"));
        CliRunner.Result broken = new CliRunner().env("PATH", emptyPath.toString()).run("policy", "validate", tmp.toString());
        assertThat(broken.exitCode()).isEqualTo(1);
        assertThat(broken.out()).contains("[fragment-resolves]");
    }

    @Test
    void underCiAMissingCompilerFailsValidation() throws Exception {
        PolicySetFixture.write(tmp, "1.0.0", PolicySetFixture.NO_LIMITS);
        Path emptyPath = Files.createDirectory(tmp.resolve("bin"));

        CliRunner.Result r = new CliRunner().env("PATH", emptyPath.toString()).env("CI", "true").run("policy", "validate", tmp.toString());

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).contains("[expression-compiler] CI=true and the C# toolchain is missing", "apt-get install");
    }

    @Test
    void deployRefusesASetThatDoesNotCompileBeforeAnyRequest() throws Exception {
        MonoGate.require();
        Path set = tmp.resolve("set");
        PolicySetFixture.write(set, "1.0.0", TYPE_ERROR);
        String sub = "00000000-0000-0000-0000-000000000001";
        try (ArmContractServer arm = ArmContractServer.start().withService("/subscriptions/" + sub
                + "/resourceGroups/rg-ai/providers/Microsoft.ApiManagement/service/apim-ai", "/apis/azure-openai")) {
            CliRunner.Result r = new CliRunner().run("policy", "deploy", "--subscription", sub, "--resource-group", "rg-ai",
                    "--service", "apim-ai", "--arm-endpoint", arm.baseUri().toString(), "--dir", set.toString(),
                    "--state-dir", tmp.resolve("state").toString(), "--eventhub-namespace", "ns.servicebus.windows.net",
                    "--eventhub", "usage", "--scope", "api:azure-openai");
            Path fragment = set.resolve("fragments/tm-limits.xml");
            List<String> lines = Files.readAllLines(fragment);
            int line = lines.indexOf("\t\tint tokens = context.Request.Method;") + 1;
            int column = lines.get(line - 1).indexOf("Method") + 1;
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.err()).contains(fragment + ":" + line + ":" + column + ": [expression-compiles] C# error CS0029",
                    "deploy refused");
            assertThat(arm.requests()).isEmpty();
        }
    }

    @Test
    void deployWithoutMonoSaysTheExpressionsWereNotCompiled() throws Exception {
        Path set = tmp.resolve("set");
        PolicySetFixture.write(set, "1.0.0", PolicySetFixture.NO_LIMITS);
        Path emptyPath = Files.createDirectory(tmp.resolve("bin"));
        String sub = "00000000-0000-0000-0000-000000000001";
        try (ArmContractServer arm = ArmContractServer.start().withService("/subscriptions/" + sub
                + "/resourceGroups/rg-ai/providers/Microsoft.ApiManagement/service/apim-ai", "/apis/azure-openai")) {
            CliRunner.Result r = new CliRunner().env("PATH", emptyPath.toString()).run("policy", "deploy",
                    "--subscription", sub, "--resource-group", "rg-ai", "--service", "apim-ai",
                    "--arm-endpoint", arm.baseUri().toString(), "--dir", set.toString(),
                    "--state-dir", tmp.resolve("state").toString(), "--eventhub-namespace", "ns.servicebus.windows.net",
                    "--eventhub", "usage", "--scope", "api:azure-openai", "--dry-run", "--allow-placeholders");
            assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(3);
            assertThat(r.err()).contains("note: expressions not compiled: mcs, mono or Newtonsoft.Json not found");
            assertThat(arm.violations()).isEmpty();
        }
    }
}
