package dev.tokenmeter.policies.harness;

import dev.tokenmeter.policies.PolicySetDir;
import dev.tokenmeter.policies.set.PolicySet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The harness refuses what APIM refuses: .NET types outside the allowed list, and code that does not compile. */
class AllowedTypesTest {

    static final String IDENTITY = "fragments/tokenmeter-identity.xml";

    @TempDir
    Path dir;

    @Test
    void typesApimDoesNotAllowAreReportedAtTheirLine() {
        PolicySetDir.copyTo(dir);
        PolicySetDir.edit(dir, IDENTITY, "<fragment>\n", "<fragment>\n"
                + "\t<set-variable name=\"leak\" value=\"@(System.IO.File.Exists(&quot;x&quot;) ? 1 : 0)\" />\n"
                + "\t<set-variable name=\"env\" value=\"@(new[] { &quot;HOME&quot; }.Select(n => Environment.GetEnvironmentVariable(n)).First())\" />\n"
                + "\t<set-variable name=\"fine\" value=\"@(Regex.IsMatch(&quot;a&quot;, &quot;a&quot;) &amp;&amp; Math.Max(1, 2) == 2)\" />\n");
        // rawxml would hold the quotes as they are; entities keep this test's fragment short and still valid C#
        PolicySetDir.edit(dir, IDENTITY, "@(System.IO.File.Exists(&quot;x&quot;) ? 1 : 0)", "@(System.IO.File.Exists(\"x\") ? 1 : 0)");
        PolicySetDir.edit(dir, IDENTITY, "@(new[] { &quot;HOME&quot; }", "@(new[] { \"HOME\" }");
        PolicySetDir.edit(dir, IDENTITY, "@(Regex.IsMatch(&quot;a&quot;, &quot;a&quot;) &amp;&amp;", "@(Regex.IsMatch(\"a\", \"a\") &&");
        try (HarnessFixture fixture = new HarnessFixture(PolicySet.load(dir))) {
            assertThat(fixture.typeViolations()).containsExactlyInAnyOrder(
                    IDENTITY + ":" + PolicySetDir.lineOf(dir, IDENTITY, "name=\"leak\"") + ": System.IO.File.Exists",
                    IDENTITY + ":" + PolicySetDir.lineOf(dir, IDENTITY, "name=\"env\"") + ": System.Environment.GetEnvironmentVariable");
        }
    }

    /**
     * Members, not just types: DateTime allows only the members Microsoft lists (no ToUniversalTime, no subtraction
     * operator), Regex no Escape, Match no Index of its own (Capture's Index is listed), and a type outside the
     * list (System.Globalization.UnicodeCategory) is refused even when reached through an allowed one.
     */
    @Test
    void membersOutsideMicrosoftsListAreReportedEvenOnAllowedTypes() {
        PolicySetDir.copyTo(dir);
        PolicySetDir.edit(dir, IDENTITY, "<fragment>\n", "<fragment>\n"
                + "\t<set-variable name=\"utc\" value=\"@(context.Timestamp.ToUniversalTime().Ticks)\" />\n"
                + "\t<set-variable name=\"minus\" value=\"@((DateTime.UtcNow - context.Timestamp).TotalSeconds)\" />\n"
                + "\t<set-variable name=\"escape\" value=\"@(Regex.Escape(context.Request.Method))\" />\n"
                + "\t<set-variable name=\"category\" value=\"@(char.GetUnicodeCategory(context.Request.Method[0]).ToString())\" />\n"
                + "\t<set-variable name=\"listed\" value=\"@(DateTime.UtcNow.Subtract(context.Timestamp).TotalSeconds + context.Timestamp.AddDays(1).Ticks"
                + " + Regex.Match(context.Request.Method, @&quot;P&quot;).Index + new DateTimeOffset(context.Timestamp.Ticks, TimeSpan.Zero).ToUniversalTime().Second)\" />\n");
        PolicySetDir.edit(dir, IDENTITY, "@&quot;P&quot;", "@\"P\"");
        try (HarnessFixture fixture = new HarnessFixture(PolicySet.load(dir))) {
            assertThat(fixture.typeViolations()).containsExactlyInAnyOrder(
                    IDENTITY + ":" + PolicySetDir.lineOf(dir, IDENTITY, "name=\"utc\"") + ": System.DateTime.ToUniversalTime",
                    IDENTITY + ":" + PolicySetDir.lineOf(dir, IDENTITY, "name=\"minus\"") + ": System.DateTime.op_Subtraction",
                    IDENTITY + ":" + PolicySetDir.lineOf(dir, IDENTITY, "name=\"escape\"") + ": System.Text.RegularExpressions.Regex.Escape",
                    IDENTITY + ":" + PolicySetDir.lineOf(dir, IDENTITY, "name=\"category\"") + ": System.Globalization.UnicodeCategory");
        }
    }

    @Test
    void expressionsThatDoNotCompileNameTheirPolicyLineAndColumn() throws Exception {
        PolicySetDir.copyTo(dir);
        PolicySetDir.edit(dir, IDENTITY, "<fragment>\n", "<fragment>\n\t<set-variable name=\"typo\" value=\"@(context.Requets.Method)\" />\n");
        MonoToolchain toolchain = MonoRequired.toolchain();
        int line = PolicySetDir.lineOf(dir, IDENTITY, "Requets");
        String text = java.nio.file.Files.readAllLines(dir.resolve(IDENTITY)).get(line - 1);
        assertThatThrownBy(() -> ExpressionAssembly.compile(toolchain, PolicySet.load(dir).expressions().values(), dir.resolve("cache")))
                .isInstanceOfSatisfying(ExpressionAssembly.CompilationFailed.class, failed -> assertThat(failed.diagnostics())
                        .singleElement().satisfies(d -> {
                            assertThat(d.file()).isEqualTo(IDENTITY);
                            assertThat(d.line()).isEqualTo(line);
                            // mcs points at the member it cannot find; a tab counts as one column
                            assertThat(d.column()).isEqualTo(text.indexOf("Requets") + 1);
                            assertThat(d.code()).isEqualTo("CS1061");
                            assertThat(d.message()).contains("Requets");
                        }))
                .hasMessageContaining(IDENTITY + ":" + line + ":" + (text.indexOf("Requets") + 1) + ": error CS1061");
    }
}
