package dev.tokenmeter.cli.openmeter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenmeter.cli.CliFailure;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Prices per million tokens per model: {@code {"currency": "USD", "models": {"gpt-4o": {"input": 2.5,
 * "cachedInput": 1.25, "output": 10}}}}. A model is priced by its exact name, else by the longest name that is a
 * prefix of it, so "gpt-4o" prices "gpt-4o-2024-08-06".
 */
public record Pricing(String currency, Map<String, Price> models) {

    public record Price(BigDecimal input, BigDecimal cachedInput, BigDecimal output) {
    }

    private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);

    public static Pricing load(Path file) {
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            Map<String, Price> models = new LinkedHashMap<>();
            root.path("models").fields().forEachRemaining(e -> {
                JsonNode p = e.getValue();
                if (!p.path("input").isNumber() || !p.path("output").isNumber()) {
                    throw new CliFailure("pricing file " + file + ": model " + e.getKey()
                            + " needs numeric 'input' and 'output' prices per million tokens");
                }
                models.put(e.getKey(), new Price(p.get("input").decimalValue(),
                        p.path("cachedInput").isNumber() ? p.get("cachedInput").decimalValue() : p.get("input").decimalValue(),
                        p.get("output").decimalValue()));
            });
            return new Pricing(root.path("currency").asText("USD"), Map.copyOf(models));
        } catch (IOException e) {
            throw new CliFailure("cannot read pricing file " + file + ": " + e.getMessage());
        }
    }

    Optional<Price> priceOf(String model) {
        if (model == null) {
            return Optional.empty();
        }
        Price exact = models.get(model);
        if (exact != null) {
            return Optional.of(exact);
        }
        return models.entrySet().stream().filter(e -> model.startsWith(e.getKey()))
                .max((a, b) -> Integer.compare(a.getKey().length(), b.getKey().length())).map(Map.Entry::getValue);
    }

    /** Uncached input, cached input and output (reasoning included) at their prices. */
    Optional<BigDecimal> cost(String model, double input, double cached, double output) {
        return priceOf(model).map(p -> p.input().multiply(BigDecimal.valueOf(input - cached))
                .add(p.cachedInput().multiply(BigDecimal.valueOf(cached)))
                .add(p.output().multiply(BigDecimal.valueOf(output)))
                .divide(MILLION, 6, RoundingMode.HALF_UP));
    }
}
