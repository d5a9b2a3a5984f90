// A model of API Management's policy-expression context, following the "Context variable" section of the APIM
// policy expressions reference: same member names, types and behaviour for everything the tokenmeter policies can
// touch, so an expression that compiles and runs here compiles and runs in APIM. Written for this project.
using System;
using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Tokenmeter.Apim
{
    public interface IProxyRequestContext
    {
        IApi Api { get; }
        IDeployment Deployment { get; }
        TimeSpan Elapsed { get; }
        IPolicyError LastError { get; }
        IOperation Operation { get; }
        IProduct Product { get; }
        IRequest Request { get; }
        Guid RequestId { get; }
        IResponse Response { get; }
        ISubscription Subscription { get; }
        DateTime Timestamp { get; }
        bool Tracing { get; }
        IUser User { get; }
        IReadOnlyDictionary<string, object> Variables { get; }
        void Trace(string message);
    }

    public interface IApi { string Id { get; } string Name { get; } string Path { get; } IEnumerable<string> Protocols { get; } IUrl ServiceUrl { get; } string Revision { get; } string Version { get; } bool IsCurrentRevision { get; } }
    public interface IDeployment { string GatewayId { get; } string Region { get; } string ServiceId { get; } string ServiceName { get; } }
    public interface IPolicyError { string Source { get; } string Reason { get; } string Message { get; } string Scope { get; } string Section { get; } string Path { get; } string PolicyId { get; } }
    public interface IOperation { string Id { get; } string Method { get; } string Name { get; } string UrlTemplate { get; } }
    public interface IProduct { string Id { get; } string Name { get; } bool SubscriptionRequired { get; } bool ApprovalRequired { get; } int? SubscriptionLimit { get; } }
    public interface ISubscription { string Id { get; } string Name { get; } string Key { get; } string PrimaryKey { get; } string SecondaryKey { get; } DateTime CreatedDate { get; } DateTime? StartDate { get; } DateTime? EndDate { get; } }
    public interface IGroup { string Id { get; } string Name { get; } }
    public interface IUser { string Id { get; } string Email { get; } string FirstName { get; } string LastName { get; } string Note { get; } DateTime RegistrationDate { get; } IEnumerable<IGroup> Groups { get; } }
    public interface IUrl { string Host { get; } string Path { get; } int Port { get; } IReadOnlyDictionary<string, string[]> Query { get; } string QueryString { get; } string Scheme { get; } }
    public interface IMessageBody { T As<T>(bool preserveContent = false); }
    public interface IRequest { IMessageBody Body { get; } IReadOnlyDictionary<string, string[]> Headers { get; } string IpAddress { get; } IReadOnlyDictionary<string, string> MatchedParameters { get; } string Method { get; } IUrl OriginalUrl { get; } IUrl Url { get; } }
    public interface IResponse { IMessageBody Body { get; } IReadOnlyDictionary<string, string[]> Headers { get; } int StatusCode { get; } string StatusReason { get; } }

    /** A JWT as validate-jwt / validate-azure-ad-token / AsJwt() expose it. */
    public class Jwt
    {
        public string Algorithm { get; internal set; }
        public IEnumerable<string> Audiences { get; internal set; }
        public IReadOnlyDictionary<string, string[]> Claims { get; internal set; }
        public DateTime? ExpirationTime { get; internal set; }
        public string Id { get; internal set; }
        public string Issuer { get; internal set; }
        public DateTime? IssuedAt { get; internal set; }
        public DateTime? NotBefore { get; internal set; }
        public string Subject { get; internal set; }
        public string Type { get; internal set; }

        internal static Jwt FromClaims(IDictionary<string, string[]> claims)
        {
            var c = new Dictionary<string, string[]>(claims, StringComparer.Ordinal);
            Func<string, string> one = n => c.ContainsKey(n) && c[n].Length > 0 ? c[n][0] : null;
            return new Jwt
            {
                Algorithm = "RS256", Type = "JWT", Claims = c, Id = one("jti"), Issuer = one("iss"), Subject = one("sub"),
                Audiences = c.ContainsKey("aud") ? c["aud"] : new string[0],
                ExpirationTime = Epoch(one("exp")), IssuedAt = Epoch(one("iat")), NotBefore = Epoch(one("nbf")),
            };
        }

        static DateTime? Epoch(string seconds)
        {
            long s;
            return seconds != null && long.TryParse(seconds, out s) ? new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(s) : (DateTime?)null;
        }
    }

    /** The extension methods APIM documents for expressions. */
    public static class ContextExtensions
    {
        /** Headers, query parameters and claims: comma-joined values, or the default when absent. */
        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> values, string name, string defaultValue = null)
        {
            string[] found;
            return values != null && values.TryGetValue(name, out found) && found != null ? string.Join(",", found) : defaultValue;
        }

        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string> values, string name, string defaultValue = null)
        {
            string found;
            return values != null && values.TryGetValue(name, out found) ? found : defaultValue;
        }

        /** context.Variables: the stored value cast to T, or the default when absent. Like APIM, a wrong type throws. */
        public static T GetValueOrDefault<T>(this IReadOnlyDictionary<string, object> variables, string name, T defaultValue = default(T))
        {
            object found;
            return variables.TryGetValue(name, out found) ? (T)found : defaultValue;
        }

        public static Jwt AsJwt(this string value)
        {
            Jwt jwt;
            return value.TryParseJwt(out jwt) ? jwt : null;
        }

        /** Decodes (without validating) a compact JWS, as APIM's AsJwt does. */
        public static bool TryParseJwt(this string value, out Jwt result)
        {
            result = null;
            if (string.IsNullOrEmpty(value)) return false;
            var token = value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value.Substring(7) : value;
            var parts = token.Split('.');
            if (parts.Length != 3) return false;
            try
            {
                var payload = JObject.Parse(System.Text.Encoding.UTF8.GetString(FromBase64Url(parts[1])));
                var claims = new Dictionary<string, string[]>();
                foreach (var p in payload.Properties())
                {
                    claims[p.Name] = p.Value.Type == JTokenType.Array
                        ? p.Value.Select(v => v.ToString()).ToArray()
                        : new[] { p.Value.Type == JTokenType.String ? (string)p.Value : p.Value.ToString(Formatting.None) };
                }
                result = Jwt.FromClaims(claims);
                return true;
            }
            catch (Exception)
            {
                return false;
            }
        }

        static byte[] FromBase64Url(string s)
        {
            s = s.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
        }
    }

    // ---- implementations the harness fills from a scenario ----

    public class Api : IApi { public string Id { get; set; } public string Name { get; set; } public string Path { get; set; } public IEnumerable<string> Protocols { get; set; } public IUrl ServiceUrl { get; set; } public string Revision { get; set; } public string Version { get; set; } public bool IsCurrentRevision { get; set; } }
    public class Deployment : IDeployment { public string GatewayId { get; set; } public string Region { get; set; } public string ServiceId { get; set; } public string ServiceName { get; set; } }
    public class PolicyError : IPolicyError { public string Source { get; set; } public string Reason { get; set; } public string Message { get; set; } public string Scope { get; set; } public string Section { get; set; } public string Path { get; set; } public string PolicyId { get; set; } }
    public class Operation : IOperation { public string Id { get; set; } public string Method { get; set; } public string Name { get; set; } public string UrlTemplate { get; set; } }
    public class Product : IProduct { public string Id { get; set; } public string Name { get; set; } public bool SubscriptionRequired { get; set; } public bool ApprovalRequired { get; set; } public int? SubscriptionLimit { get; set; } }
    public class Subscription : ISubscription { public string Id { get; set; } public string Name { get; set; } public string Key { get; set; } public string PrimaryKey { get; set; } public string SecondaryKey { get; set; } public DateTime CreatedDate { get; set; } public DateTime? StartDate { get; set; } public DateTime? EndDate { get; set; } }
    public class User : IUser { public string Id { get; set; } public string Email { get; set; } public string FirstName { get; set; } public string LastName { get; set; } public string Note { get; set; } public DateTime RegistrationDate { get; set; } public IEnumerable<IGroup> Groups { get; set; } }

    /** Case-insensitive like HTTP header names; APIM's header dictionaries are too. */
    public class HeaderDictionary : Dictionary<string, string[]>
    {
        public HeaderDictionary() : base(StringComparer.OrdinalIgnoreCase) { }
    }

    public class Url : IUrl
    {
        public Url(string absolute)
        {
            var uri = new Uri(absolute);
            Scheme = uri.Scheme; Host = uri.Host; Port = uri.Port; Path = uri.AbsolutePath; QueryString = uri.Query;
            var query = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in uri.Query.TrimStart('?').Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = pair.Split(new[] { '=' }, 2);
                var key = Uri.UnescapeDataString(kv[0]);
                var value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
                string[] existing;
                query[key] = query.TryGetValue(key, out existing) ? existing.Concat(new[] { value }).ToArray() : new[] { value };
            }
            Query = query;
        }
        public string Host { get; private set; } public string Path { get; private set; } public int Port { get; private set; }
        public IReadOnlyDictionary<string, string[]> Query { get; private set; } public string QueryString { get; private set; } public string Scheme { get; private set; }
    }

    /**
     * A message body. As in APIM, reading it without preserveContent consumes it: later reads get null and the
     * message goes on without a body. Reads are counted, so a test can prove a streamed body was never touched.
     */
    public class MessageBody : IMessageBody
    {
        string content;
        public bool Consumed { get; private set; }
        public int Reads { get; private set; }
        public MessageBody(string content) { this.content = content; }
        public string Content { get { return Consumed ? null : content; } }

        public T As<T>(bool preserveContent = false)
        {
            Reads++;
            if (Consumed) return default(T);
            if (!preserveContent) Consumed = true;
            object value;
            if (typeof(T) == typeof(string)) value = content;
            else if (typeof(T) == typeof(byte[])) value = System.Text.Encoding.UTF8.GetBytes(content ?? "");
            else if (typeof(T) == typeof(JObject)) value = JObject.Parse(content);
            else if (typeof(T) == typeof(JArray)) value = JArray.Parse(content);
            else if (typeof(T) == typeof(JToken)) value = JToken.Parse(content);
            else if (typeof(T) == typeof(System.Xml.Linq.XDocument)) value = System.Xml.Linq.XDocument.Parse(content);
            else if (typeof(T) == typeof(System.Xml.Linq.XElement)) value = System.Xml.Linq.XElement.Parse(content);
            else throw new InvalidOperationException("APIM cannot read a body as " + typeof(T).FullName);
            return (T)value;
        }
    }

    public class Request : IRequest
    {
        public MessageBody MessageBody { get; set; }
        // "Body: IMessageBody or null if request does not have a body" (policy expressions reference, context.Request)
        public IMessageBody Body { get { return MessageBody; } }
        public HeaderDictionary HeaderValues { get; set; }
        public IReadOnlyDictionary<string, string[]> Headers { get { return HeaderValues; } }
        public string IpAddress { get; set; }
        public IReadOnlyDictionary<string, string> MatchedParameters { get; set; }
        public string Method { get; set; }
        public IUrl OriginalUrl { get; set; }
        public IUrl Url { get; set; }
    }

    public class Response : IResponse
    {
        public MessageBody MessageBody { get; set; }
        public IMessageBody Body { get { return MessageBody; } }
        public HeaderDictionary HeaderValues { get; set; }
        public IReadOnlyDictionary<string, string[]> Headers { get { return HeaderValues; } }
        public int StatusCode { get; set; }
        public string StatusReason { get; set; }
    }

    public class ProxyRequestContext : IProxyRequestContext
    {
        public readonly Dictionary<string, object> VariableValues = new Dictionary<string, object>();
        public readonly List<string> TraceMessages = new List<string>();
        public IApi Api { get; set; }
        public IDeployment Deployment { get; set; }
        // "Elapsed: TimeSpan - time interval between the value of Timestamp and current time": it grows while the
        // gateway waits, so the harness adds the time each send-request took
        public TimeSpan Elapsed { get; set; }
        public IPolicyError LastError { get; set; }
        public IOperation Operation { get; set; }
        public IProduct Product { get; set; }
        public Request RequestValue { get; set; }
        public IRequest Request { get { return RequestValue; } }
        public Guid RequestId { get; set; }
        public Response ResponseValue { get; set; }
        public IResponse Response { get { return ResponseValue; } }
        public ISubscription Subscription { get; set; }
        public DateTime Timestamp { get; set; }
        public bool Tracing { get; set; }
        public IUser User { get; set; }
        public IReadOnlyDictionary<string, object> Variables { get { return VariableValues; } }
        public void Trace(string message) { TraceMessages.Add(message); }
    }
}
