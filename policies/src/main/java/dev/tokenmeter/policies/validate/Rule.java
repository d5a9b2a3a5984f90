package dev.tokenmeter.policies.validate;

import dev.tokenmeter.policies.set.PolicySet;

import java.util.List;

/** One check over a whole policy set. Rules are independent so each can be tested with one broken example. */
interface Rule {
    List<Finding> check(PolicySet set);
}
