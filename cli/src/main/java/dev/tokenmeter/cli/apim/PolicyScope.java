package dev.tokenmeter.cli.apim;

/** Where an APIM policy document applies. Parsed from {@code global}, {@code product:ID}, {@code api:ID}, {@code operation:API/OP}. */
public sealed interface PolicyScope {

    /** The path below the service that holds the scope's policy collection. */
    String path();

    record Global() implements PolicyScope {
        public String path() {
            return "";
        }

        @Override
        public String toString() {
            return "global";
        }
    }

    record Product(String productId) implements PolicyScope {
        public String path() {
            return "/products/" + productId;
        }

        @Override
        public String toString() {
            return "product:" + productId;
        }
    }

    record Api(String apiId) implements PolicyScope {
        public String path() {
            return "/apis/" + apiId;
        }

        @Override
        public String toString() {
            return "api:" + apiId;
        }
    }

    record Operation(String apiId, String operationId) implements PolicyScope {
        public String path() {
            return "/apis/" + apiId + "/operations/" + operationId;
        }

        @Override
        public String toString() {
            return "operation:" + apiId + "/" + operationId;
        }
    }

    static PolicyScope parse(String text) {
        String t = text.trim();
        if (t.equals("global")) {
            return new Global();
        }
        int colon = t.indexOf(':');
        String kind = colon < 0 ? t : t.substring(0, colon);
        String id = colon < 0 ? "" : t.substring(colon + 1);
        if (!id.isEmpty() && !id.contains("?") && !id.contains("#")) {
            switch (kind) {
                case "product":
                    if (!id.contains("/")) {
                        return new Product(id);
                    }
                    break;
                case "api":
                    if (!id.contains("/")) {
                        return new Api(id);
                    }
                    break;
                case "operation":
                    String[] parts = id.split("/");
                    if (parts.length == 2 && !parts[0].isEmpty() && !parts[1].isEmpty()) {
                        return new Operation(parts[0], parts[1]);
                    }
                    break;
                default:
                    break;
            }
        }
        throw new IllegalArgumentException("scope '" + text
                + "' is not one of: global, product:ID, api:ID, operation:API_ID/OPERATION_ID");
    }
}
