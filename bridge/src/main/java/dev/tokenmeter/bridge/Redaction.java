package dev.tokenmeter.bridge;

import java.util.regex.Pattern;

/**
 * Makes a URL safe to log: a password in its user info (an OpenMeter URL with credentials) and the values of its
 * query (a SAS {@code sig} on a checkpoint container URL) are replaced by {@code ***}. Works on text that is not a
 * valid URL too, since that is exactly what an error message about a bad URL shows.
 */
public final class Redaction {

    private static final Pattern USER_INFO = Pattern.compile("(//)[^/@?#]*@");
    private static final Pattern QUERY_VALUE = Pattern.compile("([?&;][^=&#;]+)=[^&#;]*");

    private Redaction() {
    }

    public static String url(String url) {
        if (url == null) {
            return null;
        }
        String noUser = USER_INFO.matcher(url).replaceAll("$1***@");
        return QUERY_VALUE.matcher(noUser).replaceAll("$1=***");
    }
}
