// The harness's C# side: reads one JSON command per line on stdin, runs it against one ProxyRequestContext, and
// answers one JSON line on stdout. The Java side walks the policy XML and decides what runs when; this process
// only evaluates the compiled expressions (class Tokenmeter.Policy.Expressions, generated from the policy files)
// and keeps the context between them, exactly as APIM keeps it for one request.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Tokenmeter.Apim;

namespace Tokenmeter.Harness
{
    public static class Host
    {
        static ProxyRequestContext context = new ProxyRequestContext();
        // time spent inside the policy expressions since the last reset, without the JSON in and out of this
        // process: what the policy chain costs the gateway, as far as the expressions go
        static readonly System.Diagnostics.Stopwatch expressionTime = new System.Diagnostics.Stopwatch();
        static int evaluations;
        static readonly Dictionary<int, long> ticksById = new Dictionary<int, long>();

        public static int Main()
        {
            Console.InputEncoding = System.Text.Encoding.UTF8;
            var stdout = new System.IO.StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false));
            stdout.AutoFlush = true;
            string line;
            while ((line = Console.In.ReadLine()) != null)
            {
                JObject answer;
                try
                {
                    // dates stay strings: the harness passes timestamps through verbatim
                    var reader = new JsonTextReader(new System.IO.StringReader(line)) { DateParseHandling = DateParseHandling.None };
                    answer = Handle(JObject.Load(reader));
                }
                catch (Exception e)
                {
                    var inner = e is TargetInvocationException && e.InnerException != null ? e.InnerException : e;
                    answer = new JObject(new JProperty("ok", false), new JProperty("error", inner.GetType().FullName + ": " + inner.Message));
                }
                stdout.WriteLine(answer.ToString(Formatting.None));
            }
            return 0;
        }

        static JObject Ok(object value = null, string clr = null)
        {
            var o = new JObject(new JProperty("ok", true));
            if (clr != null) o["clr"] = clr;
            o["value"] = value == null ? JValue.CreateNull() : value as JToken ?? JToken.FromObject(value);
            return o;
        }

        static JObject Handle(JObject cmd)
        {
            switch ((string)cmd["op"])
            {
                case "check": return Ok(TypeCheck.Violations(typeof(Tokenmeter.Policy.Expressions)));
                case "reset": context = Build((JObject)cmd["ctx"]); expressionTime.Reset(); evaluations = 0; ticksById.Clear(); return Ok();
                case "timing":
                    return Ok(new JObject(new JProperty("expressionMicros", expressionTime.Elapsed.Ticks / 10),
                        new JProperty("evaluations", evaluations),
                        new JProperty("microsById", new JObject(ticksById.Select(e => new JProperty(e.Key.ToString(), e.Value / 10))))));
                // the request id exactly as an expression's context.RequestId.ToString() renders it
                case "requestid": return Ok(context.RequestId.ToString());
                // context.Elapsed grows while the gateway waits (for a send-request, for instance)
                case "elapse": context.Elapsed = context.Elapsed + TimeSpan.FromMilliseconds((long)cmd["ms"]); return Ok();
                // send-request's URL as .NET's Uri makes it before it goes out: dot segments removed, escapes normalised
                case "resolveurl": return Ok(new Uri((string)cmd["url"]).AbsoluteUri);
                case "eval":
                {
                    var value = Eval((int)cmd["id"]);
                    return Ok(Encode(value), value == null ? "null" : value.GetType().FullName);
                }
                case "setvar":
                {
                    object value = cmd["id"] != null ? Eval((int)cmd["id"])
                        : cmd["int"] != null ? (object)(int)cmd["int"] : cmd["long"] != null ? (object)(long)cmd["long"] : (string)cmd["literal"];
                    context.VariableValues[(string)cmd["name"]] = value;
                    return Ok(Encode(value), value == null ? "null" : value.GetType().FullName);
                }
                case "setjwt":
                {
                    var claims = ((JObject)cmd["claims"]).Properties().ToDictionary(p => p.Name, p => p.Value.Select(v => (string)v).ToArray());
                    context.VariableValues[(string)cmd["name"]] = Jwt.FromClaims(claims);
                    return Ok();
                }
                case "setbody":
                {
                    object value = cmd["id"] != null ? Eval((int)cmd["id"]) : (string)cmd["literal"];
                    var text = value is JToken ? ((JToken)value).ToString(Formatting.None) : value == null ? null : value.ToString();
                    if ((string)cmd["target"] == "request") context.RequestValue.MessageBody = text == null ? null : new MessageBody(text);
                    else EnsureResponse().MessageBody = new MessageBody(text);
                    return Ok(text);
                }
                case "setheader":
                {
                    var headers = (string)cmd["target"] == "request" ? context.RequestValue.HeaderValues : EnsureResponse().HeaderValues;
                    var name = (string)cmd["name"];
                    var values = cmd["values"].Select(v => (string)v).ToArray();
                    switch ((string)cmd["action"] ?? "override")
                    {
                        case "delete": headers.Remove(name); break;
                        case "skip": if (!headers.ContainsKey(name)) headers[name] = values; break;
                        case "append": headers[name] = headers.ContainsKey(name) ? headers[name].Concat(values).ToArray() : values; break;
                        default: headers[name] = values; break;
                    }
                    return Ok();
                }
                case "response":
                    context.ResponseValue = new Response
                    {
                        StatusCode = (int)cmd["status"], StatusReason = (string)cmd["reason"],
                        HeaderValues = Headers((JObject)cmd["headers"]), MessageBody = new MessageBody((string)cmd["body"]),
                    };
                    return Ok();
                case "sendresult":
                    // send-request's response variable: an IResponse, or null when ignore-error swallowed a failure
                    context.VariableValues[(string)cmd["name"]] = cmd["status"] == null || cmd["status"].Type == JTokenType.Null ? null : new Response
                    {
                        StatusCode = (int)cmd["status"], StatusReason = (string)cmd["reason"],
                        HeaderValues = Headers((JObject)cmd["headers"]), MessageBody = new MessageBody((string)cmd["body"]),
                    };
                    return Ok();
                case "error":
                    context.LastError = new PolicyError
                    {
                        Source = (string)cmd["source"], Reason = (string)cmd["reason"], Message = (string)cmd["message"],
                        Section = (string)cmd["section"], Scope = "api", PolicyId = (string)cmd["policyId"],
                    };
                    return Ok();
                case "state":
                {
                    var state = new JObject();
                    state["requestBody"] = context.RequestValue.MessageBody == null ? null : context.RequestValue.MessageBody.Content;
                    state["requestBodyConsumed"] = context.RequestValue.MessageBody != null && context.RequestValue.MessageBody.Consumed;
                    state["responseStatus"] = context.ResponseValue == null ? 0 : context.ResponseValue.StatusCode;
                    state["responseBodyReads"] = context.ResponseValue == null ? 0 : context.ResponseValue.MessageBody.Reads;
                    state["responseBody"] = context.ResponseValue == null ? null : context.ResponseValue.MessageBody.Content;
                    state["responseHeaders"] = context.ResponseValue == null ? new JObject() : JObject.FromObject(context.ResponseValue.HeaderValues);
                    state["requestHeaders"] = JObject.FromObject(context.RequestValue.HeaderValues);
                    var variables = new JObject();
                    foreach (var v in context.VariableValues) variables[v.Key] = Encode(v.Value);
                    state["variables"] = variables;
                    return Ok(state);
                }
                default: throw new ArgumentException("unknown op " + cmd["op"]);
            }
        }

        static object Eval(int id)
        {
            Func<IProxyRequestContext, object> expression;
            if (!Tokenmeter.Policy.ExpressionTable.All.TryGetValue(id, out expression))
                throw new ArgumentException("no expression " + id);
            evaluations++;
            var before = expressionTime.Elapsed.Ticks;
            expressionTime.Start();
            try
            {
                return expression(context);
            }
            finally
            {
                expressionTime.Stop();
                long sum;
                ticksById.TryGetValue(id, out sum);
                ticksById[id] = sum + expressionTime.Elapsed.Ticks - before;
            }
        }

        static JToken Encode(object value)
        {
            if (value == null) return JValue.CreateNull();
            if (value is JToken) return ((JToken)value).DeepClone();
            if (value is string || value is bool || value is int || value is long || value is double || value is decimal) return new JValue(value);
            if (value is Guid || value is DateTime || value is TimeSpan) return new JValue(value.ToString());
            return new JValue(value.GetType().FullName);
        }

        static Response EnsureResponse()
        {
            if (context.ResponseValue == null)
                context.ResponseValue = new Response { StatusCode = 200, StatusReason = "OK", HeaderValues = new HeaderDictionary(), MessageBody = new MessageBody(null) };
            return context.ResponseValue;
        }

        static HeaderDictionary Headers(JObject json)
        {
            var headers = new HeaderDictionary();
            if (json != null)
                foreach (var p in json.Properties()) headers[p.Name] = p.Value.Select(v => (string)v).ToArray();
            return headers;
        }

        static ProxyRequestContext Build(JObject c)
        {
            var r = (JObject)c["request"];
            var url = new Url((string)r["url"]);
            var ctx = new ProxyRequestContext
            {
                RequestId = Guid.Parse((string)c["requestId"]),
                Timestamp = DateTime.SpecifyKind(DateTime.Parse((string)c["timestamp"], System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal), DateTimeKind.Utc),
                Elapsed = TimeSpan.FromMilliseconds((long)c["elapsedMs"]),
                Deployment = c["deployment"].ToObject<Deployment>(),
                Api = c["api"].Type == JTokenType.Null ? null : c["api"].ToObject<Api>(),
                Operation = c["operation"].Type == JTokenType.Null ? null : c["operation"].ToObject<Operation>(),
                Product = c["product"].Type == JTokenType.Null ? null : c["product"].ToObject<Product>(),
                Subscription = c["subscription"].Type == JTokenType.Null ? null : c["subscription"].ToObject<Subscription>(),
                User = c["user"].Type == JTokenType.Null ? null : c["user"].ToObject<User>(),
                RequestValue = new Request
                {
                    Method = (string)r["method"], Url = url, OriginalUrl = url, IpAddress = (string)r["ipAddress"],
                    HeaderValues = Headers((JObject)r["headers"]),
                    // "Body: IMessageBody or null if request does not have a body" (context.Request in the APIM reference)
                    MessageBody = r["body"] == null || r["body"].Type == JTokenType.Null ? null : new MessageBody((string)r["body"]),
                    MatchedParameters = ((JObject)r["matchedParameters"]).Properties().ToDictionary(p => p.Name, p => (string)p.Value),
                },
            };
            return ctx;
        }
    }

    /**
     * Policy expressions may use only the .NET types APIM allows. The compiled IL of every expression (and of the
     * lambdas the compiler lifts out of them) is read, and each type, method and field it refers to is checked
     * against that list; the model types of the context are allowed too.
     */
    public static class TypeCheck
    {
        // Source of both lists: "API Management policy expressions", section ".NET Framework types allowed in policy
        // expressions" (learn.microsoft.com/azure/api-management/api-management-policy-expressions). Types whose
        // "Supported members" column says "All" are in Allowed; types with a member list are in AllowedMembers, with
        // the documented names as the IL names them (properties as get_X, "(Constructor)" as .ctor).
        static readonly HashSet<string> Allowed = new HashSet<string>
        {
            "Newtonsoft.Json.Formatting", "Newtonsoft.Json.Linq.Extensions", "Newtonsoft.Json.Linq.JArray",
            "Newtonsoft.Json.Linq.JConstructor", "Newtonsoft.Json.Linq.JContainer", "Newtonsoft.Json.Linq.JObject",
            "Newtonsoft.Json.Linq.JProperty", "Newtonsoft.Json.Linq.JRaw", "Newtonsoft.Json.Linq.JToken",
            "Newtonsoft.Json.Linq.JTokenType", "Newtonsoft.Json.Linq.JValue",
            "System.Array", "System.BitConverter", "System.Boolean", "System.Byte", "System.Char",
            "System.Collections.Generic.Dictionary`2", "System.Collections.Generic.HashSet`1",
            "System.Collections.Generic.ICollection`1", "System.Collections.Generic.IDictionary`2",
            "System.Collections.Generic.IEnumerable`1", "System.Collections.Generic.IEnumerator`1",
            "System.Collections.Generic.IList`1", "System.Collections.Generic.IReadOnlyCollection`1",
            "System.Collections.Generic.IReadOnlyDictionary`2",
            "System.Collections.Generic.ISet`1", "System.Collections.Generic.KeyValuePair`2",
            "System.Collections.Generic.List`1", "System.Collections.Generic.Queue`1", "System.Collections.Generic.Stack`1",
            "System.Convert", "System.DateTimeOffset", "System.Decimal",
            "System.Double", "System.Exception", "System.Guid", "System.Int16", "System.Int32", "System.Int64",
            "System.IO.StringReader", "System.IO.StringWriter", "System.Linq.Enumerable", "System.Math",
            "System.MidpointRounding", "System.Net.IPAddress", "System.Net.WebUtility", "System.Nullable", "System.Nullable`1",
            "System.Random", "System.SByte",
            "System.Security.Cryptography.AsymmetricAlgorithm", "System.Security.Cryptography.CipherMode",
            "System.Security.Cryptography.HashAlgorithm", "System.Security.Cryptography.HashAlgorithmName",
            "System.Security.Cryptography.HMAC", "System.Security.Cryptography.HMACMD5", "System.Security.Cryptography.HMACSHA1",
            "System.Security.Cryptography.HMACSHA256", "System.Security.Cryptography.HMACSHA384",
            "System.Security.Cryptography.HMACSHA512", "System.Security.Cryptography.KeyedHashAlgorithm",
            "System.Security.Cryptography.MD5", "System.Security.Cryptography.Oid", "System.Security.Cryptography.PaddingMode",
            "System.Security.Cryptography.RNGCryptoServiceProvider", "System.Security.Cryptography.RSA",
            "System.Security.Cryptography.RSAEncryptionPadding", "System.Security.Cryptography.RSASignaturePadding",
            "System.Security.Cryptography.SHA1", "System.Security.Cryptography.SHA1Managed",
            "System.Security.Cryptography.SHA256", "System.Security.Cryptography.SHA256Managed",
            "System.Security.Cryptography.SHA384", "System.Security.Cryptography.SHA384Managed",
            "System.Security.Cryptography.SHA512", "System.Security.Cryptography.SHA512Managed",
            "System.Security.Cryptography.SymmetricAlgorithm",
            "System.Security.Cryptography.X509Certificates.PublicKey",
            "System.Security.Cryptography.X509Certificates.RSACertificateExtensions",
            "System.Security.Cryptography.X509Certificates.X509Certificate",
            "System.Security.Cryptography.X509Certificates.X509Certificate2",
            "System.Security.Cryptography.X509Certificates.X509ContentType",
            "System.Security.Cryptography.X509Certificates.X509NameType",
            "System.Single", "System.String", "System.StringComparer", "System.StringComparison",
            "System.StringSplitOptions", "System.Text.Encoding", "System.Text.StringBuilder",
            "System.Text.RegularExpressions.RegexOptions",
            // TimeZoneInfo.AdjustmentRule and TimeZoneInfo.TransitionTime are nested: checked as TimeZoneInfo
            "System.TimeSpan", "System.TimeZone", "System.TimeZoneInfo", "System.Tuple", "System.Tuple`1", "System.Tuple`2",
            "System.Tuple`3", "System.UInt16", "System.UInt32", "System.UInt64", "System.Uri", "System.UriPartial",
            "System.Xml.Linq.Extensions", "System.Xml.Linq.XAttribute", "System.Xml.Linq.XCData", "System.Xml.Linq.XComment",
            "System.Xml.Linq.XContainer", "System.Xml.Linq.XDeclaration", "System.Xml.Linq.XDocumentType",
            "System.Xml.Linq.XElement", "System.Xml.Linq.XName", "System.Xml.Linq.XNamespace", "System.Xml.Linq.XNode",
            "System.Xml.Linq.XNodeDocumentOrderComparer", "System.Xml.Linq.XNodeEqualityComparer", "System.Xml.Linq.XObject",
            "System.Xml.Linq.XProcessingInstruction", "System.Xml.Linq.XText", "System.Xml.XmlNodeType",
            // not listed, but every expression needs them: the root of all types, value types, and what the C#
            // compiler emits for lambdas (delegates) and foreach (IDisposable)
            "System.Object", "System.ValueType", "System.Func`1", "System.Func`2", "System.Func`3", "System.Action`1",
            "System.IDisposable",
            // only ever the empty params array of JToken.ToString(Formatting, params JsonConverter[]), which APIM allows
            "Newtonsoft.Json.JsonConverter",
        };

        /** Types APIM allows only some members of, as the documentation's "Supported members" column lists them. */
        static readonly Dictionary<string, HashSet<string>> AllowedMembers = new Dictionary<string, HashSet<string>>
        {
            { "Newtonsoft.Json.JsonConvert", Members("SerializeObject", "DeserializeObject") },
            { "System.DateTime", Members("(Constructor)", "Add", "AddDays", "AddHours", "AddMilliseconds", "AddMinutes",
                "AddMonths", "AddSeconds", "AddTicks", "AddYears", "Date", "Day", "DayOfWeek", "DayOfYear", "DaysInMonth",
                "Hour", "IsDaylightSavingTime", "IsLeapYear", "MaxValue", "Millisecond", "Minute", "MinValue", "Month",
                "Now", "Parse", "Second", "Subtract", "Ticks", "TimeOfDay", "Today", "ToString", "UtcNow", "Year") },
            { "System.DateTimeKind", Members("Utc") },
            { "System.Text.RegularExpressions.Capture", Members("Index", "Length", "Value") },
            { "System.Text.RegularExpressions.CaptureCollection", Members("Count", "Item") },
            { "System.Text.RegularExpressions.Group", Members("Captures", "Success") },
            { "System.Text.RegularExpressions.GroupCollection", Members("Count", "Item") },
            { "System.Text.RegularExpressions.Match", Members("Empty", "Groups", "Result") },
            { "System.Text.RegularExpressions.Regex", Members("(Constructor)", "IsMatch", "Match", "Matches", "Replace", "Unescape", "Split") },
            { "System.Security.Cryptography.X509Certificates.X500DistinguishedName", Members("Name") },
            // "All, except of: Load"
            { "System.Xml.Linq.XDocument", Members(typeof(System.Xml.Linq.XDocument).GetMembers().Select(m => m.Name).Where(n => n != "Load").ToArray()) },
        };

        /** The documented names as IL refers to them: a property's accessors, a constructor, a method or field. */
        static HashSet<string> Members(params string[] documented)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var d in documented)
            {
                if (d == "(Constructor)") { names.Add(".ctor"); continue; }
                names.Add(d); names.Add("get_" + d);
            }
            return names;
        }

        static readonly Dictionary<ushort, OpCode> OpCodesByValue = typeof(OpCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null))
            .ToDictionary(o => (ushort)o.Value);

        public static JArray Violations(Type expressions)
        {
            var found = new JArray();
            var seen = new HashSet<string>();
            // mcs compiles a lambda into a method "<E12>m__0" of the same class, or of a nested closure class
            foreach (var method in expressions.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                int id = System.Text.RegularExpressions.Regex.IsMatch(method.Name, "^E\\d+$") ? int.Parse(method.Name.Substring(1)) : LambdaOwner(method.Name);
                foreach (var bad in Check(method, expressions))
                    if (seen.Add(id + bad)) found.Add(new JObject(new JProperty("id", id), new JProperty("type", bad)));
            }
            // lambdas are compiled into nested classes; attribute their violations to the expression they came from
            foreach (var nested in expressions.GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public))
            {
                foreach (var method in nested.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    int id = LambdaOwner(method.Name);
                    foreach (var bad in Check(method, expressions))
                        if (seen.Add(id + bad)) found.Add(new JObject(new JProperty("id", id), new JProperty("type", bad)));
                }
            }
            return found;
        }

        /** mcs names a lambda of method E12 like "<E12>m__0". */
        static int LambdaOwner(string name)
        {
            var m = System.Text.RegularExpressions.Regex.Match(name, "<E(\\d+)>");
            return m.Success ? int.Parse(m.Groups[1].Value) : 0;
        }

        static IEnumerable<string> Check(MethodInfo method, Type expressions)
        {
            var body = method.GetMethodBody();
            if (body == null) yield break;
            foreach (var local in body.LocalVariables)
                foreach (var bad in CheckType(local.LocalType, expressions, null)) yield return bad;
            var il = body.GetILAsByteArray();
            int i = 0;
            while (i < il.Length)
            {
                ushort value = il[i++];
                if (value == 0xFE) value = (ushort)(0xFE00 | il[i++]);
                var op = OpCodesByValue[value];
                int token = 0;
                switch (op.OperandType)
                {
                    case OperandType.InlineNone: break;
                    case OperandType.ShortInlineBrTarget: case OperandType.ShortInlineI: case OperandType.ShortInlineVar: i += 1; break;
                    case OperandType.InlineVar: i += 2; break;
                    case OperandType.InlineI8: case OperandType.InlineR: i += 8; break;
                    case OperandType.InlineSwitch: i += 4 + 4 * BitConverter.ToInt32(il, i); break;
                    case OperandType.InlineField: case OperandType.InlineMethod: case OperandType.InlineTok: case OperandType.InlineType:
                        token = BitConverter.ToInt32(il, i); i += 4; break;
                    default: i += 4; break;
                }
                if (token == 0) continue;
                var member = method.Module.ResolveMember(token, method.DeclaringType.IsGenericType ? method.DeclaringType.GetGenericArguments() : null,
                    method.IsGenericMethod ? method.GetGenericArguments() : null);
                foreach (var bad in CheckMember(member, expressions)) yield return bad;
            }
        }

        static IEnumerable<string> CheckMember(MemberInfo member, Type expressions)
        {
            var type = member as Type;
            if (type != null) return CheckType(type, expressions, null);
            var result = CheckType(member.DeclaringType, expressions, member.Name);
            var generic = member as MethodInfo;
            if (generic != null && generic.IsGenericMethod)
                result = result.Concat(generic.GetGenericArguments().SelectMany(t => CheckType(t, expressions, null)));
            return result;
        }

        static IEnumerable<string> CheckType(Type type, Type expressions, string member)
        {
            if (type == null || type.IsGenericParameter) yield break;
            if (type.IsArray || type.IsByRef || type.IsPointer)
            {
                foreach (var bad in CheckType(type.GetElementType(), expressions, null)) yield return bad;
                yield break;
            }
            if (type.IsGenericType && !type.IsGenericTypeDefinition)
            {
                foreach (var arg in type.GetGenericArguments())
                    foreach (var bad in CheckType(arg, expressions, null)) yield return bad;
                type = type.GetGenericTypeDefinition();
            }
            var outer = type;
            while (outer.DeclaringType != null) outer = outer.DeclaringType;
            if (outer == expressions || outer.Namespace == "Tokenmeter.Apim") yield break;
            var name = outer.FullName;
            if (Allowed.Contains(name)) yield break;
            HashSet<string> members;
            // naming a type is fine (a local, a cast); only its members are restricted
            if (member == null && AllowedMembers.ContainsKey(name)) yield break;
            if (member != null && AllowedMembers.TryGetValue(name, out members) && members.Contains(member)) yield break;
            yield return member == null ? name : name + "." + member;
        }
    }
}
