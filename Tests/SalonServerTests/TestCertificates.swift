import Crypto
import Foundation
import SwiftASN1
import X509

/// A private CA and a server certificate it signed, made for one test and written as PEM
/// files into a folder: `ca.pem` for the clients, `cert.pem` and `key.pem` for the server.
struct TestCertificates {
    let caPath: String
    let certificatePath: String
    let keyPath: String

    /// `names` are DNS names, `addresses` IPv4 addresses (dotted) the certificate covers.
    static func make(in directory: URL, tag: String = "", names: [String] = ["localhost"], addresses: [[UInt8]] = [[127, 0, 0, 1]]) throws -> TestCertificates {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Salon test CA \(tag)") }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey)
        )
        let key = P256.Signing.PrivateKey()
        let alternatives = names.map { GeneralName.dnsName($0) } + addresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName,
            subject: try DistinguishedName { CommonName(names.first ?? "salon") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames(alternatives)
                try ExtendedKeyUsage([.serverAuth])
                Critical(KeyUsage(digitalSignature: true))
            },
            issuerPrivateKey: .init(caKey)
        )
        let files = TestCertificates(
            caPath: directory.appendingPathComponent("ca\(tag).pem").path,
            certificatePath: directory.appendingPathComponent("cert.pem").path,
            keyPath: directory.appendingPathComponent("key.pem").path
        )
        try ca.serializeAsPEM().pemString.write(toFile: files.caPath, atomically: true, encoding: .utf8)
        try leaf.serializeAsPEM().pemString.write(toFile: files.certificatePath, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: files.keyPath, atomically: true, encoding: .utf8)
        return files
    }
}
