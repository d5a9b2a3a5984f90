package dev.tokenmeter.cli.policy;

import dev.tokenmeter.cli.CliFailure;
import dev.tokenmeter.cli.Environment;

/** Asks the person at the terminal before a command changes a service; anything but yes changes nothing. */
final class Confirmation {

    private Confirmation() {
    }

    static void require(Environment env, String question) {
        env.out().flush();
        String answer = env.terminal().ask(question + " [y/N] ");
        String a = answer == null ? "" : answer.strip().toLowerCase();
        if (!a.equals("y") && !a.equals("yes")) {
            throw new CliFailure("cancelled: nothing was changed (pass --yes to skip this question)");
        }
    }
}
