package dev.tokenmeter.cli;

import java.io.Console;

/**
 * Whether a person is at the keyboard, and their answer to a question. Deploy and rollback ask before they change
 * a service only then: a script or CI run has no one to answer and proceeds as before. Tests pass their own.
 */
public interface Terminal {

    /** Standard input and output are both a terminal. */
    boolean interactive();

    /** The answer typed, or null at end of input. */
    String ask(String question);

    /** No terminal: nothing is asked. */
    Terminal NONE = new Terminal() {
        @Override
        public boolean interactive() {
            return false;
        }

        @Override
        public String ask(String question) {
            return null;
        }
    };

    /** The process's console; {@link System#console()} exists only when stdin and stdout are a terminal. */
    static Terminal system() {
        Console console = System.console();
        if (console == null) {
            return NONE;
        }
        return new Terminal() {
            @Override
            public boolean interactive() {
                return true;
            }

            @Override
            public String ask(String question) {
                return console.readLine("%s", question);
            }
        };
    }
}
