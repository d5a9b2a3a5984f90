package dev.tokenmeter.policies.scenarios;

import dev.tokenmeter.policies.harness.Scenario;

import java.util.List;

/** One scenario of a file: the request and everything around it, the answers to the policies' send-requests, and what to expect. */
public record ScenarioCase(String name, Scenario scenario, List<StubbedCall> calls, Expectations expect) {
}
