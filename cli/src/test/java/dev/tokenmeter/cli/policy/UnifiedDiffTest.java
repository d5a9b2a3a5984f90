package dev.tokenmeter.cli.policy;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class UnifiedDiffTest {

    @Test
    void showsRemovalsBeforeAdditionsWithThreeLinesOfContext() {
        String a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10";
        String b = "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10";
        assertThat(UnifiedDiff.of("a", a, "b", b)).isEqualTo("""
                --- a
                +++ b
                @@ -3,7 +3,7 @@
                 3
                 4
                 5
                -6
                +six
                 7
                 8
                 9
                """);
    }

    @Test
    void separatesDistantChangesIntoHunksAndHandlesCreation() {
        String a = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl";
        String b = "A\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL";
        assertThat(UnifiedDiff.of("x", a, "y", b)).contains("@@ -1,4 +1,4 @@\n-a\n+A\n", "@@ -9,4 +9,4 @@\n i\n j\n k\n-l\n+L\n");
        assertThat(UnifiedDiff.of("x", "", "y", "new")).isEqualTo("--- x\n+++ y\n@@ -0,0 +1,1 @@\n+new\n");
    }
}
