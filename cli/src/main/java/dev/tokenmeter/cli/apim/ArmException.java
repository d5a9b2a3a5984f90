package dev.tokenmeter.cli.apim;

import dev.tokenmeter.cli.CliFailure;

/**
 * Azure Resource Manager refused a request. The message names the request and the resource and says what to do,
 * according to the status: credentials (401), role (403), names (404), a conflicting operation (409), a change
 * made by someone else (412), throttling that outlasted the retries (429).
 */
public final class ArmException extends CliFailure {
    private final int status;
    private final String code;

    public ArmException(String method, String resource, int status, String code, String message) {
        super(describe(method, resource, status, code, message));
        this.status = status;
        this.code = code;
    }

    public int status() {
        return status;
    }

    /** ARM's error code, such as ResourceGroupNotFound; empty when the answer had none. */
    public String code() {
        return code == null ? "" : code;
    }

    private static String describe(String method, String resource, int status, String code, String message) {
        String what = method + " " + resource + " failed: HTTP " + status
                + (code == null || code.isBlank() ? "" : " " + code)
                + (message == null || message.isBlank() ? "" : " (" + message + ")") + ". ";
        String todo = switch (status) {
            case 401 -> "Azure did not accept the credentials: run 'az login' (or set AZURE_TENANT_ID, AZURE_CLIENT_ID "
                    + "and AZURE_CLIENT_SECRET, or use a managed identity) and try again.";
            case 403 -> "The identity is signed in but lacks permission on this API Management service: grant it the "
                    + "'API Management Service Contributor' role on the service or its resource group.";
            case 404 -> "Not found: check --subscription, --resource-group and --service (and the API, product or "
                    + "operation id of --scope).";
            case 409 -> "Azure reports a conflict, usually another operation still running on the service: wait for "
                    + "it to finish and run the command again.";
            case 412 -> "The resource was changed by someone else since it was read (ETag mismatch): run "
                    + "'tokenmeter policy diff' to see the change, then deploy again.";
            case 429 -> "Azure Resource Manager is throttling this identity and the retries ran out: wait a few "
                    + "minutes and run the command again.";
            default -> status >= 500 ? "Azure failed on its side and the retries ran out: try again later."
                    : "The request was refused: check the values given to the command.";
        };
        return what + todo;
    }
}
