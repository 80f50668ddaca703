# r2com, aplicação web: português.
language-name = Português
chrono-locale = pt_PT
format-date-long = %A, %-d de %B de %Y
format-month-year = %B de %Y
format-time = %H:%M
format-date-time = %-d de %B de %Y, %H:%M

skip-to-content = Saltar para o conteúdo
nav-label = Principal
nav-library = Biblioteca
nav-calendar = Calendário
nav-consortium = Consórcio
nav-staff = Equipa
nav-account = A minha conta
nav-logout = Terminar sessão
footer-note = r2com: o nó desta organização. As contas e a sua atividade ficam neste servidor.
back-home = Voltar ao início

error-forbidden-title = Não permitido
error-forbidden = A sua conta não pode fazer isto.
error-not-found-title = Não encontrado
error-not-found = Não há nada neste endereço.
error-bad-request-title = Não foi possível fazer isto
error-internal-title = Ocorreu um erro
error-logged-out = Não tem sessão iniciada (ou a sua sessão terminou). Inicie sessão e tente de novo.
error-cross-site = Este formulário não foi enviado a partir deste site, por isso foi recusado.
error-csrf = Este formulário expirou ou não foi enviado a partir deste site. Recarregue a página e tente de novo.
error-too-large = O que foi enviado é demasiado grande.
error-bad-form = O formulário estava incompleto.

login-title = Iniciar sessão
login-name = Nome da conta
login-password = Palavra-passe
login-submit = Iniciar sessão
login-help = Ainda não tem palavra-passe? Peça uma ligação ao administrador r2com da sua organização.
login-failed = Nome de conta ou palavra-passe errados.
login-too-many = Demasiadas tentativas falhadas. Aguarde um quarto de hora e tente de novo.
one-time-title = Iniciar sessão com uma ligação de utilização única
one-time-intro = Esta ligação inicia sessão como { $name }. Só funciona uma vez.
one-time-submit = Continuar
one-time-invalid = Esta ligação já foi usada ou expirou. Peça uma nova.
welcome-title = Bem-vindo ao r2com
welcome-intro = Escolha uma palavra-passe para a conta { $name }.
welcome-submit = Guardar a palavra-passe e iniciar sessão
password-new = Nova palavra-passe
password-again = A mesma palavra-passe, de novo
password-help = Pelo menos 10 caracteres. Uma frase de que se lembre é uma boa palavra-passe.
password-too-short = A palavra-passe precisa de pelo menos { $min } caracteres.
password-too-long = A palavra-passe é demasiado longa.
password-mismatch = As duas palavras-passe não são iguais.

## Notices after a change
notice-added = Adicionado.
notice-saved = Guardado.
notice-deleted = Eliminado.
notice-unchanged = Nada foi alterado.

## Forms
form-save = Guardar
form-cancel = Cancelar
form-has-errors = Corrija os campos assinalados abaixo.
form-conflict = Outra pessoa alterou as mesmas linhas entretanto. O texto dela aparece acima: junte-o ao seu e guarde de novo.
form-their-text = O campo «{ $field }» atual, como outros o deixaram
delete-confirm = Sim, eliminar
filter-any = Todos
filter-apply = Aplicar
filter-clear = Limpar tudo
pager-label = Páginas
pager-previous = ← Página anterior
pager-next = Página seguinte →

## Record fields
field-title = Título
field-summary = Resumo
field-body = Texto
field-body-help = Markdown: uma linha em branco começa um parágrafo, # um título, * um item de lista, [texto](https://…) uma ligação.
field-themes = Temas
field-target-groups = Públicos-alvo
field-countries = Países
field-languages = Línguas
field-list-help = Separe vários com vírgulas.
field-organisation = Organização
field-evidence = Evidência
field-contact = E-mail de contacto
field-status = Estado
field-created = Criada em
field-updated = Última alteração
field-description = Descrição
field-format = Formato
field-organiser = Organizador
field-language = Língua
field-language-help = Código de duas letras, p. ex. en, fr, pt.
field-capacity = Lugares
field-capacity-help = Deixe vazio se não houver limite.
field-location = Local
field-online-url = Endereço online (https)
field-timezone = Fuso horário

status-draft = Rascunho
status-published = Publicada
status-archived = Arquivada
evidence-peer-reviewed = Revista por pares
evidence-evaluated = Avaliada
evidence-promising = Promissora
evidence-anecdotal = Empírica
evidence-not-yet-evaluated = Ainda não avaliada
format-workshop = Workshop
format-webinar = Webinar
format-course = Curso
format-study-visit = Visita de estudo
format-conference = Conferência
format-peer-exchange = Intercâmbio entre pares
event-status-scheduled = Agendado
event-status-postponed = Adiado
event-status-cancelled = Cancelado

## Library
library-title = Biblioteca de práticas
library-search = Pesquisar
library-search-help = Acentos e maiúsculas não contam.
library-count = { $count } práticas · página { $page }
search-count = { $count } encontradas · página { $page }
search-no-words = Escreva pelo menos uma palavra a pesquisar.
practice-add = Adicionar uma prática
practice-edit = Editar
practice-delete = Eliminar
practice-delete-question = Eliminar a prática «{ $title }» em todos os nós do consórcio? O seu histórico é mantido.
practice-files = Ficheiros
practice-file-held = presente neste nó
practice-file-fetched = obtido de um membro quando o descarregar
practice-file-unavailable = Este ficheiro ainda não está neste nó, e o nó não está ligado aos membros que o têm.
practice-updated = alterada em { $when }
back-to-library = Voltar à biblioteca

## Audit (local only)
audit-title = Alterações feitas a partir deste nó
audit-help = Visível apenas para esta organização: que conta fez cada alteração aqui.
audit-when = Quando
audit-who = Conta
audit-what = Alteração
audit-add = adição
audit-edit = edição
audit-remove = eliminação

## Calendar
calendar-zone = As horas são mostradas no fuso { $zone }.
calendar-change-zone = Alterar
calendar-nav = Páginas do calendário
calendar-previous = ← Antes
calendar-next = Depois →
calendar-this-month = Este mês
calendar-month-view = Vista do mês
calendar-organiser-time = hora do organizador { $time }
agenda-title = Agenda
agenda-range = De { $from } a { $to }
agenda-empty = Não há sessões neste período.
event-add = Adicionar um evento
event-edit = Editar
event-delete = Eliminar
event-delete-question = Eliminar o evento «{ $title }» (todas as sessões) em todos os nós do consórcio?
event-when = Quando
event-organiser-when = No fuso horário do organizador
event-repeats = Repetição
event-next-sessions = Próximas sessões
event-unlimited = Sem limite
event-online = online
event-date = Data
event-time = Começa às
event-hours = Horas
event-minutes = Minutos
event-fold-earlier = Se esta hora acontecer duas vezes (mudança para a hora de inverno), refiro-me à primeira.
event-bad-date = Escreva uma data como 2026-03-10.
event-bad-time = Escreva uma hora como 14:30.
event-bad-duration = Indique uma duração maior que zero.
event-bad-number = Escreva um número inteiro, 1 ou mais.
event-bad-repeat = Escolha como o evento se repete.
back-to-calendar = Voltar ao calendário
repeat-frequency = Repete-se
repeat-none = Não se repete
repeat-daily-choice = Diariamente
repeat-weekly-choice = Semanalmente
repeat-monthly-choice = Mensalmente
repeat-yearly-choice = Anualmente
repeat-interval = De quantos em quantos (dias, semanas, …)
repeat-weekdays = Nestes dias (semanalmente)
repeat-ends = Termina
repeat-ends-never = Nunca
repeat-ends-count = Depois deste número de sessões
repeat-ends-until = Nesta data
repeat-custom = Regra personalizada: { $rule }
repeat-daily = { $n ->
    [one] Todos os dias
   *[other] De { $n } em { $n } dias
}
repeat-weekly = { $n ->
    [one] Todas as semanas
   *[other] De { $n } em { $n } semanas
}
repeat-monthly = { $n ->
    [one] Todos os meses
   *[other] De { $n } em { $n } meses
}
repeat-yearly = { $n ->
    [one] Todos os anos
   *[other] De { $n } em { $n } anos
}
repeat-on = à(s) { $days }
repeat-count = { $n ->
    [one] uma vez
   *[other] { $n } vezes
}
repeat-until = até { $date }

## My account
account-title = A minha conta
account-settings = Língua e fuso horário
account-language = Língua
account-language-browser = Como o meu navegador prefere
account-zone = Fuso horário
account-zone-help = O calendário mostra cada sessão à sua hora neste fuso.
account-bad-zone = «{ $zone }» não é um fuso horário.
account-feed = Subscrever o calendário
account-feed-help = Os programas de calendário (Thunderbird, Outlook, telemóveis) podem seguir o calendário das formações num endereço secreto só seu.
account-feed-make = Criar o meu endereço de subscrição
account-feed-secret = Guarde este endereço só para si: quem o tiver pode ler o calendário. Crie um novo se ele tiver sido divulgado; o antigo deixa então de funcionar.
account-feed-renew = Criar um novo endereço
account-feed-revoke = Desativar o endereço
account-feed-made = O seu novo endereço de subscrição está pronto.
account-feed-revoked = O seu endereço de subscrição já não funciona.
account-copy = Copiar
account-copied = Copiado
account-password = Palavra-passe
account-current-password = Palavra-passe atual
account-password-save = Mudar a palavra-passe
account-password-changed = A sua palavra-passe foi mudada.
account-wrong-password = A palavra-passe atual está errada.

## Staff (admins)
staff-title = Contas da equipa
staff-name = Nome da conta
staff-name-help = Letras minúsculas, algarismos, pontos, hífenes e sublinhados.
staff-role = Função
staff-role-of = Função de { $name }
staff-password = Palavra-passe
staff-has-password = definida
staff-no-password = ainda não
staff-created = Criada em
staff-actions = Ações
staff-change-role = Alterar
staff-new-link = Nova ligação de palavra-passe
staff-remove = Remover
staff-remove-question = Remover a conta { $name }? As suas sessões terminam e o seu endereço de subscrição deixa de funcionar.
staff-add = Adicionar uma conta
staff-exists = Já existe uma conta chamada { $name }.
staff-no-such = Não há nenhuma conta chamada { $name }.
staff-not-yourself = Não pode remover a sua própria conta nem retirar-se a função de administrador.
staff-link-for = Dê esta ligação a { $name } (funciona uma vez, durante 7 dias) para escolher uma palavra-passe:
staff-link-help = Envie-a por um canal que só essa pessoa lê. O operador também pode executar: r2com user add NOME --role FUNÇÃO
staff-cli-help = O operador do nó pode fazer o mesmo com os comandos r2com user.
role-reader = Leitor (lê a biblioteca e o calendário)
role-editor = Editor (também adiciona e edita)
role-admin = Administrador (também gere as contas)

## Consortium (admins)
consortium-title = Consórcio
consortium-none = Este nó ainda não faz parte de um consórcio.
consortium-name = Nome
consortium-id = Identificador
consortium-this-node = Este nó
consortium-members = Membros
consortium-country = País
consortium-nodes = Nós
consortium-added = Membro desde
consortium-role-admin = Administrador
consortium-role-member = Membro
consortium-revoked = Revogado em { $when }: { $reason }
consortium-sync = Nós e sincronização
consortium-no-network = A rede não está a funcionar.
consortium-no-peers = Ainda não há outros nós membros.
consortium-node = Nó
consortium-connection = Ligação
consortium-state = Estado
consortium-last-sync = Última sincronização
consortium-traffic = Enviado / recebido
consortium-not-connected = sem ligação
consortium-direct = ligado diretamente
consortium-relayed = ligado através de um retransmissor (só sincronização, sem ficheiros)
consortium-never-synced = ainda não sincronizado
consortium-in-sync = sincronizado
consortium-behind = atrasado: faltam { $we } alterações a este nó e { $they } ao outro
consortium-key-revoked = revogado
consortium-cli-help = Os convites, promoções e revogações são feitos pelo operador com a linha de comandos r2com.

practice-written-in = Escrita em
practice-translations = Noutras línguas
history-title = Histórico
history-help = Cada alteração a esta prática, pela organização cujo nó a assinou, da mais recente para a mais antiga.
history-when = Quando
history-organisation = Organização
history-what = Alteração
history-created = criada
history-edited = editada
history-deleted = eliminada
history-restored = restaurada
history-unknown = chave desconhecida { $key }…
history-bad-signature = a sua assinatura não é válida
history-more = { $count } alterações mais antigas não estão listadas: `r2com history { $id }` mostra-as.
