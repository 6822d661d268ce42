/**
 * Object identifiers used by the Open Finance Brasil certificate profiles (Padrão de Certificados 2.1).
 */
export const OID = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  businessCategory: '2.5.4.15',
  organizationIdentifier: '2.5.4.97',
  uid: '0.9.2342.19200300.100.1.1',
  jurisdictionCountryName: '1.3.6.1.4.1.311.60.2.1.3',
  /** ICP-Brasil otherName: the legal entity's CNPJ (in BRSEAL/e-CNPJ SANs). */
  icpBrasilCnpj: '2.16.76.1.3.3',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const
