package dev.tokenmeter.policies.source;

/**
 * One C# policy expression exactly as written in a policy file.
 *
 * @param id        unique within a loaded policy set; the masked XML refers to the expression by this id
 * @param file      the policy file, relative to the policy-set folder, so messages can point at it
 * @param line      1-based line of the leading {@code @}
 * @param column    1-based column of the leading {@code @} (in characters), so a C# compiler's position inside the
 *                  expression maps back to the file
 * @param multiStatement true for {@code @{...}} (a method body ending in return), false for {@code @(...)}
 * @param code      the text between the delimiters, verbatim (APIM rawxml: no XML entity decoding)
 */
public record PolicyExpression(int id, String file, int line, int column, boolean multiStatement, String code) {

    /** Where the column is not known (expressions built in code): the line alone locates it. */
    public PolicyExpression(int id, String file, int line, boolean multiStatement, String code) {
        this(id, file, line, 0, multiStatement, code);
    }

    public String location() {
        return file + ":" + line;
    }

    /** The expression as it appears in the file. */
    public String raw() {
        return multiStatement ? "@{" + code + "}" : "@(" + code + ")";
    }
}
