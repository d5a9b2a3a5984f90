package dev.tokenmeter.cli;

/** How commands that print data print it ({@code --output}). */
public enum OutputFormat {
    table, json, csv
}
